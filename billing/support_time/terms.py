"""The terms a subscription held in a period: what its allowance is summed under.

A period's terms are those of the plan version the subscription held at the period's last
moment (or now, for the running period), after any catalog migration
(``migrate_existing_from``) in force by then. Closed periods keep the terms they were
closed under (billing.support_time.closing), so a later plan change or migration never reaches back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing.models import Subscription
from billing.periods import Period
from billing.support_time.allowance import Terms
from plans import Catalog
from plans.model import ServicePlan, SupportPlan


@dataclass(frozen=True, slots=True)
class HeldTerms:
    plan_id: str
    plan_version: int
    terms: Terms


def terms_in(
    catalog: Catalog, subscription: Subscription, period: Period, now: datetime
) -> HeldTerms | None:
    """The time-selling terms ``subscription`` held in ``period``; None if its plan sells
    no time or left the catalog."""
    if subscription.plan_id not in catalog:
        return None
    moment = max(period.start, min(now, period.end - timedelta(microseconds=1)))
    plan = catalog.version_for_holder(
        subscription.plan_id, subscription.plan_version, moment.date()
    )
    if not isinstance(plan, SupportPlan | ServicePlan):
        return None
    return HeldTerms(plan.id, plan.version, plan.terms)
