"""Apply the subscription → instance rule (portal.policy) to the fleet.

Level-triggered like the reconciler: every tick looks at every hosting subscription and
makes its instance's desired state match, so a lost webhook or a crash in between only
delays the change. Customers in checkout get their network made ahead of their first
instance (portal.checkout_networks).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from billing import BillingContext, Subscriptions
from plans import ApplicationHostingPlan, CatalogError, Plan, ServerHostingPlan
from portal.checkout_networks import CheckoutNetworks
from portal.errors import PlanChangeHeld, PortalError
from portal.policy import desired_instance_state
from provisioner import (
    DesiredState,
    Instance,
    Provisioner,
    ProvisioningError,
    SuspensionReason,
    UpdateStatus,
)

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(days=7)


def instance_id_for(subscription_id: str) -> str:
    """The id of a subscription's instance, the same from every worker: two workers
    syncing at once (the web process and the worker beside it) make one instance, not
    two. A DNS label like every instance id (provisioner.specs.new_instance_id)."""
    return "i" + hashlib.sha256(subscription_id.encode()).hexdigest()[:10]


@dataclass
class SyncReport:
    provisioned: list[str] = field(default_factory=list)
    suspended: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    replanned: list[str] = field(default_factory=list)
    networks_made: list[str] = field(default_factory=list)  # customers in checkout
    networks_removed: list[str] = field(default_factory=list)  # checkouts abandoned
    errors: list[str] = field(default_factory=list)


async def _follow_plan(provisioner: Provisioner, instance: Instance, plan: Plan) -> bool:
    """Move the instance onto the plan version its subscription holds (a plan change, or
    existing customers moved to a newer version); True if a change was started.

    A plan change whose replacement failed health checks is not retried every tick: the
    instance keeps serving on its old plan and the failure stays visible to operators
    (``update_status`` failed) until they roll it again by hand.
    """
    if (instance.plan_id, instance.plan_version) == plan.key:
        return False
    if instance.update_status == UpdateStatus.FAILED.value:
        raise PlanChangeHeld(instance.id, plan.id, plan.version, instance.update_detail)
    await provisioner.change_plan(instance.id, plan.id, plan.version, actor="subscription")
    return True


async def sync_instances(
    billing: BillingContext, provisioner: Provisioner, grace: timedelta = DEFAULT_GRACE
) -> SyncReport:
    report = SyncReport()
    now = billing.clock()
    catalog = billing.catalog()
    networks = CheckoutNetworks(now, grace)
    for subscription in await Subscriptions(billing).list():
        plan = catalog.get(subscription.plan_id, subscription.plan_version)
        if not isinstance(plan, ApplicationHostingPlan | ServerHostingPlan):
            continue
        desired = desired_instance_state(subscription.state, subscription.ended_at, now, grace)
        networks.note(
            subscription.customer_id,
            subscription.state,
            desired,
            subscription.instance_ref,
            subscription.created_at,
            subscription.ended_at,
        )
        try:
            if subscription.instance_ref is None:
                if desired is DesiredState.RUNNING:
                    instance = await provisioner.provision(
                        subscription.customer_id,
                        plan.id,
                        plan.version,
                        actor="subscription",
                        instance_id=instance_id_for(subscription.id),
                    )
                    await Subscriptions(billing).link_instance(subscription.id, instance.id)
                    report.provisioned.append(instance.id)
                continue
            instance = await provisioner.get(subscription.instance_ref)
            if desired is DesiredState.RUNNING and instance.suspension_reason == "billing":
                await provisioner.resume(instance.id, SuspensionReason.BILLING, actor="billing")
                report.resumed.append(instance.id)
            elif desired is DesiredState.STOPPED and instance.desired_state == "running":
                note = f"subscription {subscription.id} is {subscription.state}"
                await provisioner.suspend(instance.id, SuspensionReason.BILLING, note, "billing")
                report.suspended.append(instance.id)
            elif desired is DesiredState.ABSENT and instance.desired_state != "absent":
                await provisioner.terminate(instance.id, actor="billing")
                report.terminated.append(instance.id)
            alive = DesiredState.ABSENT not in (desired, instance.desired_state)
            held = catalog.version_for_holder(plan.id, plan.version, now.date())
            if alive and await _follow_plan(provisioner, instance, held):
                report.replanned.append(instance.id)
        except (ProvisioningError, PortalError, CatalogError) as error:
            # One instance's trouble must not stop the others; the next tick retries.
            log.warning("subscription %s: %s", subscription.id, error)
            report.errors.append(f"{subscription.id}: {error}")
    await networks.apply(provisioner, report)
    return report
