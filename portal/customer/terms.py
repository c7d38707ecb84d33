"""What changing a plan or cancelling would do, shown before the customer confirms.

The rules are billing's (billing.subscriptions.lifecycle); these views only put them in words for
one subscription at one moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing import Period, cancellation_terms, current_period_end, monthly_price
from plans import Catalog, Money, Plan, UnknownPlan
from plans.model import EarlyCancellation
from portal.customer.catalog import PlanCard, plan_card
from portal.customer.dashboard import SubscriptionRow


@dataclass(frozen=True, slots=True)
class PlanChoice:
    card: PlanCard
    current: bool
    effect: str  # when and how the change would apply


def downgrade_date(row: SubscriptionRow, now: datetime) -> datetime:
    """When a cheaper plan would take over: the period end, or during a commitment the
    first period end after it (a commitment binds the price it was made at)."""
    boundary = current_period_end(row.subscription, now)
    committed_until = row.subscription.commitment_ends_at
    while committed_until is not None and boundary < committed_until:
        boundary = Period.of(boundary).end
    return boundary


def plan_choices(catalog: Catalog, row: SubscriptionRow, now: datetime) -> list[PlanChoice]:
    """The plans of the same kind on sale today, billed per period in the same currency,
    with the current one first and marked."""
    current = row.plan
    if current is None:
        return []
    choices = [PlanChoice(plan_card(current), True, "Your plan today.")]
    for plan in catalog.offered(now.date(), current.kind):
        if plan.key == current.key or plan.pricing.interval.months == 0:
            continue
        if plan.pricing.currency != current.pricing.currency:
            continue
        choices.append(PlanChoice(plan_card(plan), False, _effect(current, plan, row, now)))
    return choices


def _effect(current: Plan, target: Plan, row: SubscriptionRow, now: datetime) -> str:
    old, new = monthly_price(current), monthly_price(target)
    if new > old:
        effect = "An upgrade: it applies at once; the rest of this month is invoiced prorated."
    elif new == old:
        effect = "The same price per month: it applies at once."
    else:
        effect = (
            f"A downgrade: it applies on {downgrade_date(row, now):%Y-%m-%d}; "
            "until then you keep your current plan."
        )
    commitment = target.pricing.commitment
    if commitment is not None and new >= old:
        trial_ends = row.subscription.trial_ends_at
        if trial_ends is not None and trial_ends > now:
            # A trial is free to leave: the commitment starts when it ends (billing).
            effect += (
                f" It starts a {commitment.months}-month commitment when your trial ends"
                f" on {trial_ends:%Y-%m-%d}."
            )
        else:
            effect += f" It starts a {commitment.months}-month commitment from today."
    return effect


@dataclass(frozen=True, slots=True)
class CancelPreview:
    row: SubscriptionRow
    ends_at: datetime
    at_once: bool  # never paid for: it simply ends
    commitment_ends_at: datetime | None
    policy: EarlyCancellation | None
    charge: str | None  # what leaving a commitment early costs, in words
    charge_description: str


def cancel_preview(row: SubscriptionRow, now: datetime) -> CancelPreview:
    subscription = row.subscription
    if row.awaiting_payment:
        return CancelPreview(row, now, True, None, None, None, "")
    if row.plan is None:  # the version left the catalog: billing cannot work it out either
        raise UnknownPlan(subscription.plan_id, subscription.plan_version)
    terms = cancellation_terms(subscription, row.plan, now)
    charge = str(Money(terms.currency, terms.charge_minor)) if terms.charge_minor else None
    return CancelPreview(
        row=row,
        ends_at=terms.ends_at,
        at_once=False,
        commitment_ends_at=subscription.commitment_ends_at,
        policy=terms.policy,
        charge=charge,
        charge_description=terms.charge_description,
    )
