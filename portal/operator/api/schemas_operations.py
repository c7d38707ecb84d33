"""What ``/api/v1`` takes and gives about the Stripe outbox, rollouts and the catalog.
Money is integer minor units with an ISO currency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from billing import OutboxMessage
from plans import ApplicationHostingPlan, Plan, ServerHostingPlan
from portal.catalog_holder import ReloadFailure
from portal.operator.api.schemas import NO_NUL, In, Out
from portal.operator.page_data import CatalogView
from portal.operator.rollouts import MAX_PARALLEL, RolloutRun

# -- the outbox -----------------------------------------------------------------------


class OutboxMessageOut(Out):
    id: int
    kind: str
    key: str
    state: str
    attempts: int
    last_error: str | None  # Stripe's last answer
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    stripe_id: str | None

    @classmethod
    def of(cls, message: OutboxMessage) -> OutboxMessageOut:
        return cls(
            id=message.id,
            kind=message.kind,
            key=message.idempotency_key,
            state=message.state,
            attempts=message.attempts,
            last_error=message.last_error,
            next_attempt_at=message.next_attempt_at,
            created_at=message.created_at,
            sent_at=message.sent_at,
            stripe_id=message.stripe_id,
        )


# -- rollouts -------------------------------------------------------------------------


class RolloutIn(In):
    plan_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
    # An image tag, as portal.operator.rollouts checks it (documented, so clients see it too).
    version: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
    ]
    ignore_window: bool = False  # roll now instead of in each instance's maintenance window
    parallel: Annotated[int, msgspec.Meta(ge=1, le=MAX_PARALLEL)] = 1


class FailedInstanceOut(Out):
    instance_id: str
    error: str


class RolloutOut(Out):
    id: str
    plan_id: str
    version: str
    outcome: str  # running, succeeded, failed (some instance) or errored (the rollout)
    actor: str
    respect_window: bool
    started_at: datetime
    finished_at: datetime | None
    due: list[str]
    done: list[str]
    failed: list[FailedInstanceOut]
    remaining: list[str]
    outside_window: list[str]
    unchanged: list[str]
    error: str | None

    @classmethod
    def of(cls, run: RolloutRun) -> RolloutOut:
        report = run.report
        return cls(
            id=run.id,
            plan_id=run.plan_id,
            version=run.version,
            outcome=run.outcome,
            actor=run.actor,
            respect_window=run.respect_window,
            started_at=run.started_at,
            finished_at=run.finished_at,
            due=list(report.due),
            done=run.done,
            failed=[
                FailedInstanceOut(instance_id=o.instance_id, error=o.detail) for o in run.failed
            ],
            remaining=run.remaining,
            outside_window=list(report.outside_window),
            unchanged=list(report.unchanged),
            error=run.error,
        )


# -- the catalog ----------------------------------------------------------------------


class PlanOut(Out):
    id: str
    version: int
    kind: str
    name: str
    visibility: str
    currency: str
    amount_minor: int
    interval: str
    setup_fee_minor: int | None
    trial_months: int
    commitment_months: int | None
    available_from: str | None  # ISO date
    available_until: str | None  # ISO date, exclusive
    image: str | None  # hosting plans: image:version

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        pricing = plan.pricing
        image = None
        if isinstance(plan, ApplicationHostingPlan):
            image = plan.application.image.reference
        elif isinstance(plan, ServerHostingPlan):
            image = plan.server.image.reference
        window = plan.availability
        return cls(
            id=plan.id,
            version=plan.version,
            kind=plan.kind.value,
            name=plan.name,
            visibility=plan.visibility.value,
            currency=pricing.currency,
            amount_minor=pricing.amount.minor,
            interval=pricing.interval.value,
            setup_fee_minor=pricing.setup_fee.minor if pricing.setup_fee else None,
            trial_months=pricing.trial_months,
            commitment_months=pricing.commitment.months if pricing.commitment else None,
            available_from=window.starts.isoformat() if window.starts else None,
            available_until=window.ends.isoformat() if window.ends else None,
            image=image,
        )


class ReloadFailureOut(Out):
    at: datetime
    problems: list[str]

    @classmethod
    def of(cls, failure: ReloadFailure | None) -> ReloadFailureOut | None:
        return cls(at=failure.at, problems=list(failure.problems)) if failure else None


class CatalogOut(Out):
    directory: str
    loaded_at: datetime | None
    plans: list[PlanOut]
    # The last reload failed: the catalog above (the last good one) keeps serving.
    last_failure: ReloadFailureOut | None

    @classmethod
    def of(cls, view: CatalogView) -> CatalogOut:
        return cls(
            directory=view.directory,
            loaded_at=view.loaded_at,
            plans=[PlanOut.of(plan) for plan in view.plans],
            last_failure=ReloadFailureOut.of(view.failure),
        )


class CatalogReloadOut(Out):
    reloaded: bool
    catalog: CatalogOut
