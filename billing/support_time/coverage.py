"""Which subscription a piece of time counts on, and the terms its open periods are
summed under: the ledger's questions that need no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from billing.errors import InvalidEntry, NoSupportSubscription
from billing.models import EntryCategory, Subscription, SupportEntry
from billing.periods import Period
from billing.support_time.allowance import PeriodSummary, Terms, summarize_span, works_by_period
from billing.support_time.closing import OpenState
from billing.support_time.terms import terms_in
from plans import Catalog
from plans.model import ServicePlan


def covering(
    catalog: Catalog,
    started: Sequence[Subscription],
    customer_id: str,
    category: EntryCategory,
    at: datetime,
) -> tuple[Subscription, Terms]:
    """The subscription (and its plan's terms) that ``category`` time at ``at`` counts on,
    of the customer's subscriptions that ever ``started`` (by start)."""
    for subscription in reversed(started):
        # Time logged in the month a subscription starts counts on it.
        if Period.of(subscription.started_at) > Period.of(at):
            continue
        if subscription.ended_at is not None and subscription.ended_at <= at:
            continue
        held = terms_in(catalog, subscription, Period.of(at), at)
        if held is None:
            continue
        plan = catalog.get(held.plan_id, held.plan_version)
        sells = plan.terms.category.value if isinstance(plan, ServicePlan) else "support"
        if sells == category.value:
            return subscription, held.terms
    raise NoSupportSubscription(customer_id, category, at)


def terms_held(
    catalog: Catalog, subscription: Subscription, period: Period, now: datetime
) -> Terms:
    """The terms ``subscription`` sells time under in ``period``."""
    held = terms_in(catalog, subscription, period, now)
    if held is None:
        raise InvalidEntry(
            f"subscription {subscription.id} ({subscription.plan_id}) sells no time in {period}"
        )
    return held.terms


def open_span(
    catalog: Catalog,
    subscription: Subscription,
    state: OpenState,
    entries: Sequence[SupportEntry],
    first: Period,
    last: Period,
    now: datetime,
) -> list[PeriodSummary]:
    """Open periods ``first``..``last`` summed, each under the terms held in it.

    Corrections of entries in closed periods are left out: their difference was worked
    out in the closed period and billed as its own line (``closing.closed_delta``).
    """
    ids = {e.id for e in entries}
    own = [e for e in entries if e.corrects_id is None or e.corrects_id in ids]
    works = works_by_period(own)
    carried = state.carried if first == state.first_open else ()
    return summarize_span(
        lambda p: terms_held(catalog, subscription, p, now), works, first, last, carried
    )
