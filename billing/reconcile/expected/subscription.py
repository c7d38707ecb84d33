"""One subscription as Stripe bills it: its billing cycles, cut where it ended, and the
plan (version, with catalog migrations) counting at each moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing.models import Subscription
from billing.periods import Period
from billing.reconcile.expected.cycles import Cycle, cycles
from billing.reconcile.expected.history import History
from plans import Catalog, Plan


@dataclass(frozen=True, slots=True)
class BilledSubscription:
    subscription: Subscription
    history: History
    cycles: tuple[Cycle, ...]
    catalog: Catalog

    def plan(self, moment: datetime, *, before: bool = False) -> Plan:
        """The plan version counting at ``moment`` (``before``: just before it)."""
        plan_id, version = self.history.plan_at(self.cycles, moment, before=before)
        # The version the outbox told Stripe (a catalog migration is sent as a plan change
        # at a period boundary: billing.subscriptions.lifecycle), not the one the catalog implies.
        return self.catalog.get(plan_id, version)

    def starting_in(self, period: Period) -> list[Cycle]:
        start, end = period.start, period.end  # instants compared: no Period per cycle
        return [cycle for cycle in self.cycles if start <= cycle.start < end]


def billed_subscription(
    subscription: Subscription, history: History, catalog: Catalog, until: datetime
) -> BilledSubscription | None:
    """The subscription's cycles that start before ``until``; None when Stripe bills it no
    recurring fee (never created there, or a one-off or per-hour plan)."""
    if not history.in_stripe:
        return None
    plan_id, version = history.initial
    first = catalog.version_for_holder(plan_id, version, subscription.started_at.date())
    # A change between a monthly and a yearly price makes Stripe reset the anchor; that is
    # not modelled: the cycles keep the first plan's interval.
    months = first.pricing.interval.months
    if months == 0:
        return None
    billed = cycles(subscription.started_at, subscription.trial_ends_at, months, until)
    if history.ending is not None:
        billed = history.ending.cut(billed)
    return BilledSubscription(subscription, history, tuple(billed), catalog)
