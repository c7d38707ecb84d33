"""The periods Stripe bills a Dockyard subscription for, and its proration arithmetic.

How the subscription is set up in Stripe (billing/outbox_sender.py ``_subscription_create``
and billing/stripe/checkout.py): one licensed fee price (monthly or yearly) and, for metered
support, a minutes price of the same interval; ``billing_cycle_anchor_config``
``{day_of_month: 1}``; ``proration_behavior`` ``create_prorations`` (Checkout's default
too); ``trial_end`` from the ledger. What Stripe makes of that, and what is modelled here:

- a trial runs [start, trial end) and is invoiced at its start with a 0 line;
- the anchor is the first 1st of a month at or after the trial end (the start, without a
  trial), at 00:00 UTC. The config names no hour, so Stripe may keep the time of day of the
  creation instead; Dockyard's periods are midnight-based, so the sender should pass
  ``hour=0, minute=0, second=0`` to make the two agree (noted for the lead);
- before the anchor, one partial period [billing start, anchor), charged at its start as
  the price x its seconds / the seconds of the full cycle ending at the anchor (a month,
  or a year for a yearly price), rounded to the nearest minor unit: Stripe prorates to
  the second and rounds each line on its own;
- then full cycles of the price's interval from the anchor, each invoiced at its start
  (fees in advance; metered usage in arrears, at the cycle's end).

The subscription's start is Dockyard's ``started_at``: if the outbox sent it late, Stripe
billed less, and the reconciliation should say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from billing.periods import add_months, month_start


def seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``: Stripe's times are epoch seconds."""
    return int(end.timestamp()) - int(start.timestamp())


def prorate(amount: int, part: int, whole: int) -> int:
    """``amount`` x part / whole, to the nearest minor unit (a half away from zero)."""
    share = Fraction(amount * part, whole)
    magnitude = math.floor(abs(share) + Fraction(1, 2))
    return magnitude if share >= 0 else -magnitude


@dataclass(frozen=True, slots=True)
class Cycle:
    """One period Stripe bills: [start, end), part of the full cycle [cycle_start, cycle_end)."""

    start: datetime
    end: datetime
    cycle_start: datetime
    cycle_end: datetime
    trial: bool = False

    @property
    def partial(self) -> bool:
        return (self.start, self.end) != (self.cycle_start, self.cycle_end)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    def charge(self, price: int) -> int:
        """What Stripe invoices for this period at ``price`` per full cycle."""
        if self.trial:
            return 0
        return self.remaining(price, self.start)

    def remaining(self, price: int, since: datetime) -> int:
        """``price`` for [since, end), prorated against the full cycle: a plan change's
        charge (new price) or credit (old price) for the time left."""
        if (since, self.end) == (self.cycle_start, self.cycle_end):
            return price
        return prorate(price, seconds(since, self.end), seconds(self.cycle_start, self.cycle_end))


def cycles(
    started_at: datetime, trial_ends_at: datetime | None, months: int, until: datetime
) -> list[Cycle]:
    """Stripe's billing periods of a subscription that start before ``until``.

    ``months`` is the price's interval (1 or 12).
    """
    if months <= 0:
        raise ValueError(f"a billing cycle is a whole number of months, not {months}")
    found: list[Cycle] = []
    billing_from = started_at
    if trial_ends_at is not None and trial_ends_at > started_at:
        found.append(Cycle(started_at, trial_ends_at, started_at, trial_ends_at, trial=True))
        billing_from = trial_ends_at
    anchor = month_start(billing_from)
    if anchor < billing_from:
        anchor = add_months(anchor, 1)
        found.append(Cycle(billing_from, anchor, add_months(anchor, -months), anchor))
    while anchor < until:
        following = add_months(anchor, months)
        found.append(Cycle(anchor, following, anchor, following))
        anchor = following
    return [cycle for cycle in found if cycle.start < until]
