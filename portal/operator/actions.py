"""What operators do, one function per action; the pages and the API both call these.

Suspending a subscription by hand stops its instance too, both marked "manual": the
worker's fleet sync only ever lifts billing suspensions, and dunning never lifts a manual
one, so nothing undoes the operator's decision but the operator resuming it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from billing import (
    MANUAL,
    BillingContext,
    EntryCategory,
    EntryState,
    Ledger,
    Subscription,
    Subscriptions,
    SupportEntry,
)
from plans import Catalog
from portal.catalog_holder import CatalogHolder, ReloadFailure
from portal.errors import InvalidRollout, MissingReason
from portal.operator.rollouts import RolloutRun, RolloutTracker, rollout_problems
from provisioner import Instance, Provisioner, ProvisioningError, SuspensionReason

log = logging.getLogger(__name__)

REASON_LIMIT = 500
Fleet = Callable[[], Awaitable[Provisioner]]  # connects to the engine on first use


@dataclass(frozen=True, slots=True)
class SuspensionChange:
    subscription: Subscription
    instance: Instance | None
    # The instance could not be changed now (engine down...): what happens instead.
    instance_problem: str | None = None

    def summary(self, verb: str) -> str:
        text = f"Subscription {self.subscription.id} {verb} (now {self.subscription.state})."
        if self.instance is not None:
            text += f" Instance {self.instance.id} is {self.instance.state}."
        if self.instance_problem:
            text += f" The instance was not changed: {self.instance_problem}"
        return text


async def suspend_subscription(
    billing: BillingContext, fleet: Fleet, subscription_id: str, reason: str, actor: str
) -> SuspensionChange:
    """Suspend by hand, with a reason: the subscription, then its instance if it has one.

    Raises MissingReason, UnknownSubscription, or InvalidTransition (pending, cancelled).
    """
    reason = reason.strip()
    if not reason:
        raise MissingReason()
    subscription = await Subscriptions(billing).suspend(subscription_id)
    log.info("subscription %s suspended by %s: %s", subscription_id, actor, reason)
    if subscription.instance_ref is None:
        return SuspensionChange(subscription, None)
    try:
        provisioner = await fleet()
        instance = await provisioner.suspend(
            subscription.instance_ref, SuspensionReason.MANUAL, f"{actor}: {reason}", actor
        )
    except ProvisioningError as error:
        # The subscription is suspended, so the worker stops the instance once it can.
        return SuspensionChange(
            subscription, None, f"{error}; the worker stops it once the engine answers"
        )
    return SuspensionChange(subscription, instance)


async def resume_subscription(
    billing: BillingContext, fleet: Fleet, subscription_id: str, actor: str
) -> SuspensionChange:
    """Lift a manual suspension: the subscription (back to active, trialing or past_due),
    then its instance. Again after a half-done resume, it finishes the instance.

    Raises UnknownSubscription, or InvalidTransition when no operator suspended it.
    """
    subscriptions = Subscriptions(billing)
    subscription = await subscriptions.get(subscription_id)
    was_manual = subscription.suspension_reason == MANUAL
    if not was_manual:
        instance = await _linked_instance(fleet, subscription)
        if instance is None or instance.suspension_reason != SuspensionReason.MANUAL:
            await subscriptions.resume(subscription_id)  # raises billing's own refusal
    if was_manual:
        subscription = await subscriptions.resume(subscription_id)
        log.info("subscription %s resumed by %s", subscription_id, actor)
    if subscription.instance_ref is None:
        return SuspensionChange(subscription, None)
    try:
        provisioner = await fleet()
        instance = await provisioner.resume(
            subscription.instance_ref, SuspensionReason.MANUAL, actor
        )
    except ProvisioningError as error:
        return SuspensionChange(
            subscription, None, f"{error}; resume again once the engine answers"
        )
    return SuspensionChange(subscription, instance)


async def _linked_instance(fleet: Fleet, subscription: Subscription) -> Instance | None:
    if subscription.instance_ref is None:
        return None
    return await (await fleet()).get(subscription.instance_ref)


@dataclass(frozen=True, slots=True)
class SupportTime:
    minutes: int
    note: str
    category: str = EntryCategory.SUPPORT.value
    worked_at: datetime | None = None
    extra_work: bool = False


async def log_support_time(
    billing: BillingContext, customer_id: str, time: SupportTime, staff: str
) -> SupportEntry:
    """Record time on the customer's support (or service) plan, as ``staff``.

    Raises InvalidEntry (400), NoSupportSubscription, UnknownCustomer.
    """
    return await Ledger(billing).record(
        customer_id,
        time.minutes,
        time.note,
        staff,
        time.category,
        time.worked_at,
        time.extra_work,
    )


def support_outcome(entry: SupportEntry) -> tuple[str, str]:
    """What to tell the operator about a recorded entry, and how loudly (flash kind)."""
    if entry.state == EntryState.PENDING_APPROVAL:
        return (
            f"{entry.minutes} min logged, but over the customer's monthly cap: entry "
            f"{entry.id} waits for their approval and bills nothing until then.",
            "warn",
        )
    billable = entry.billable_minutes or 0
    return f"{entry.minutes} min logged ({billable} min billable).", "ok"


async def reload_catalog(catalogs: CatalogHolder) -> ReloadFailure | None:
    """Read the catalog files again; on problems the last good catalog keeps serving."""
    failure = await asyncio.to_thread(catalogs.reload)  # file reads off the event loop
    if failure is not None:
        log.warning("catalog reload failed: %s", "; ".join(failure.problems))
    return failure


@dataclass(frozen=True, slots=True)
class RolloutRequest:
    plan_id: str
    version: str
    ignore_window: bool = False  # roll now, not in each instance's maintenance window
    parallel: int = 1


async def start_rollout(
    tracker: RolloutTracker,
    fleet: Fleet,
    catalog: Catalog,
    clock: Callable[[], datetime],
    request: RolloutRequest,
    actor: str,
) -> RolloutRun:
    """Start rolling a plan's running instances to a version, in the background.

    Raises InvalidRollout (by field), EngineUnavailable, RolloutRefused (one runs already).
    """
    plan_id, version = request.plan_id.strip(), request.version.strip()
    problems = rollout_problems(catalog, plan_id, version)
    if problems:
        raise InvalidRollout(problems)
    provisioner = await fleet()
    run = tracker.start(
        provisioner,
        clock,
        plan_id,
        version,
        actor=actor,
        respect_window=not request.ignore_window,
        max_parallel=request.parallel,
    )
    log.info("rollout %s of %s to %s started by %s", run.id, plan_id, version, actor)
    return run
