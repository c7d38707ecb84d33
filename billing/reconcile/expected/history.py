"""A subscription's plans over time and its end, read from the outbox messages that told
Stripe about them (the subscription row only holds the plan it is on now).

- ``subscription.create`` names the first plan. A subscription started through Checkout
  has none: its first plan is the one its first update changed from (``from_plan_*``);
  for updates queued before that was recorded, the first update's plan is taken as its
  plan from the start (and no proration is expected for it).
- ``subscription.update`` names the plan after each change (billing/subscriptions/lifecycle.py
  ``_enqueue_update``) and when it was made (``changed_at``). An upgrade is sent with
  ``always_invoice`` (Stripe prorates and invoices at once; ``create_prorations`` would
  prorate onto the next invoice): both make proration lines, from the moment of the
  change, which the sender passes Stripe as ``proration_date`` however late the outbox
  gets through (Stripe takes it within its current period only: billing/outbox_sender.py
  ``proration_date``). ``none`` is a downgrade applied at a period end by
  ``roll_periods`` (queued a little after that end) or a change to an equal price: no
  proration, and the new plan counts from the start of the period it was made in.
- a cancellation is either scheduled (an update carrying ``cancel_at``) or immediate (a
  ``subscription.cancel``, which Stripe applies without proration or refund).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from billing.models import OutboxMessage, Subscription
from billing.outbox import OutboxKind
from billing.reconcile.expected.cycles import Cycle

PlanKey = tuple[str, int]  # plan id, version

# The proration behaviours with which Stripe creates proration lines.
PRORATING = frozenset({"create_prorations", "always_invoice"})


@dataclass(frozen=True, slots=True)
class PlanChange:
    at: datetime  # when Dockyard made it
    plan: PlanKey  # the plan from then on
    prorated: bool


@dataclass(frozen=True, slots=True)
class Ending:
    at: datetime
    scheduled_at: datetime | None  # when Stripe was told; None: stopped at once

    def cut(self, billed: Sequence[Cycle]) -> list[Cycle]:
        """The cycles Stripe bills once the subscription ends at ``at``.

        Nothing is billed from the end on. A cycle the end falls in is billed in full if
        the end was not known when it began (Stripe refunds nothing), and prorated to the
        end if it was: a ``cancel_at`` in a future period always prorates that period.
        """
        kept: list[Cycle] = []
        for cycle in billed:
            if cycle.start >= self.at:
                break
            known = self.scheduled_at is not None and self.scheduled_at < cycle.start
            kept.append(replace(cycle, end=self.at) if known and self.at < cycle.end else cycle)
        return kept


@dataclass(frozen=True, slots=True)
class History:
    initial: PlanKey
    changes: tuple[PlanChange, ...]
    ending: Ending | None
    in_stripe: bool  # created in Stripe, or queued to be
    by_checkout: bool = False  # created by a Checkout session, not by the outbox

    def timeline(self, billed: Sequence[Cycle]) -> list[tuple[datetime, PlanKey, PlanChange]]:
        """Each change with the moment its plan starts to count, in order."""
        steps: list[tuple[datetime, PlanKey, PlanChange]] = []
        previous: datetime | None = None
        for change in self.changes:
            effective = change.at
            if not change.prorated:
                effective = next((c.start for c in billed if change.at in c), change.at)
            if previous is not None:
                effective = max(effective, previous)
            steps.append((effective, change.plan, change))
            previous = effective
        return steps

    def prorated_at(self, moment: datetime) -> bool:
        """Whether a prorated change is dated exactly ``moment``."""
        return any(change.prorated and change.at == moment for change in self.changes)

    def plan_at(
        self, billed: Sequence[Cycle], moment: datetime, *, before: bool = False
    ) -> PlanKey:
        """The plan counting at ``moment`` (``before``: just before it)."""
        plan = self.initial
        for effective, key, _ in self.timeline(billed):
            if effective < moment or (effective == moment and not before):
                plan = key
        return plan


def read_history(subscription: Subscription, messages: Sequence[OutboxMessage]) -> History:
    """``messages``: the subscription's create, update and cancel messages, oldest first."""
    created = next((m for m in messages if m.kind == OutboxKind.SUBSCRIPTION_CREATE), None)
    initial: PlanKey | None = _plan(created) if created is not None else None
    current = initial
    changes: list[PlanChange] = []
    for message in messages:
        if message.kind != OutboxKind.SUBSCRIPTION_UPDATE:
            continue
        plan = _plan(message)
        if current is None:  # Checkout: the plan its first change moved from
            initial = current = _from_plan(message) or plan
        if plan != current:
            behaviour = str(message.payload.get("proration_behavior") or "none")
            changes.append(PlanChange(changed_at(message), plan, behaviour in PRORATING))
            current = plan
    return History(
        initial=initial or (subscription.plan_id, subscription.plan_version),
        changes=tuple(changes),
        ending=_ending(subscription, messages),
        in_stripe=created is not None or subscription.stripe_subscription_id is not None,
        by_checkout=created is None and subscription.stripe_subscription_id is not None,
    )


def changed_at(message: OutboxMessage) -> datetime:
    """When Dockyard changed the plan, which the sender passes Stripe as ``proration_date``;
    messages queued before the payload carried it were made when they were queued."""
    moment = message.payload.get("changed_at")
    if moment is None:
        return message.created_at
    return datetime.fromtimestamp(int(moment), UTC)


def _plan(message: OutboxMessage) -> PlanKey:
    return str(message.payload["plan_id"]), int(message.payload["plan_version"])


def _from_plan(message: OutboxMessage) -> PlanKey | None:
    plan_id, version = message.payload.get("from_plan_id"), message.payload.get("from_plan_version")
    if plan_id is None or version is None:
        return None
    return str(plan_id), int(version)


def _ending(subscription: Subscription, messages: Sequence[OutboxMessage]) -> Ending | None:
    end = subscription.ended_at or subscription.cancel_at
    if end is None:
        return None
    if any(m.kind == OutboxKind.SUBSCRIPTION_CANCEL for m in messages):
        return Ending(end, None)
    second = int(end.timestamp())
    scheduled = next(
        (
            m.created_at
            for m in messages
            if m.kind == OutboxKind.SUBSCRIPTION_UPDATE and m.payload.get("cancel_at") == second
        ),
        None,
    )
    return Ending(end, scheduled)
