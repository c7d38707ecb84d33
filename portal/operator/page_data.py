"""What operators read: the state of everything at a glance, a customer's whole file, the
outbox queue and the catalog as loaded. Pages and the API render these same objects.

Instances are read from the database, not the engine, so these pages work while the
Docker engine is down (the actions that need it say so).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import (
    MANUAL,
    BillingContext,
    Customer,
    Customers,
    Invoice,
    Invoices,
    Ledger,
    NoSupportSubscription,
    OutboxMessage,
    OutboxState,
    Period,
    PeriodSummary,
    Subscription,
    Subscriptions,
    SubscriptionState,
    SupportEntry,
    WebhookEvent,
    billing_counts,
    outbox_counts,
    outbox_messages,
    webhook_problems,
)
from plans import ApplicationHostingPlan, Catalog, CatalogInvalid, Plan, UnknownPlan
from portal.catalog_holder import CatalogHolder, ReloadFailure
from provisioner import Instance, InstanceState, SuspensionReason, UpdateStatus, instances

PROBLEMS_SHOWN = 50
QUEUE_SHOWN = 200


def plan_name(catalog: Catalog | None, plan_id: str, version: int) -> str:
    """The plan's name, or its id when the catalog no longer holds that version."""
    if catalog is None:
        return plan_id
    try:
        return catalog.get(plan_id, version).name
    except UnknownPlan:
        return plan_id


def serving_catalog(catalogs: CatalogHolder) -> Catalog | None:
    """The catalog in service, or None when not even the first load succeeded."""
    try:
        return catalogs.current()
    except CatalogInvalid:
        return None


# -- the overview ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    customers: int
    subscriptions: dict[str, int]  # by state
    instances: dict[str, int]  # by state
    failed_instances: list[Instance]  # with their reason
    failed_updates: list[Instance]  # the last update failed; the old revision serves
    outbox: dict[str, int]  # by state
    dead_messages: list[OutboxMessage]
    webhook_problems: list[WebhookEvent]
    catalog_failure: ReloadFailure | None

    @property
    def all_well(self) -> bool:
        return not (
            self.failed_instances
            or self.failed_updates
            or self.dead_messages
            or self.webhook_problems
            or self.catalog_failure
        )


async def overview(billing: BillingContext, catalogs: CatalogHolder) -> Overview:
    async with billing.sessions() as session:
        counts = await billing_counts(session)
        customers, subscriptions = counts.customers, counts.subscriptions
        every_instance = await instances(session)
        problems = await webhook_problems(session, PROBLEMS_SHOWN)
    live = [instance for instance in every_instance if instance.state != InstanceState.PURGED]
    return Overview(
        customers=customers,
        subscriptions=subscriptions,
        instances=dict(Counter(instance.state for instance in live)),
        failed_instances=[i for i in live if i.state == InstanceState.FAILED],
        failed_updates=[i for i in live if i.update_status == UpdateStatus.FAILED],
        outbox=await outbox_counts(billing),
        dead_messages=await outbox_messages(billing, OutboxState.DEAD, PROBLEMS_SHOWN),
        webhook_problems=problems,
        catalog_failure=catalogs.last_failure,
    )


# -- customers ------------------------------------------------------------------------


async def find_customers(billing: BillingContext, query: str) -> list[Customer]:
    customers = Customers(billing)
    return await (customers.find(query) if query else customers.list())


@dataclass(frozen=True, slots=True)
class SubscriptionLine:
    subscription: Subscription
    plan_name: str
    instance: Instance | None  # the hosting instance it runs, if any

    @property
    def suspended_by_operator(self) -> bool:
        return self.subscription.suspension_reason == MANUAL

    @property
    def can_resume(self) -> bool:
        # Also when a resume got the subscription back but not yet its instance.
        instance = self.instance
        held = instance is not None and instance.suspension_reason == SuspensionReason.MANUAL
        return self.suspended_by_operator or held

    @property
    def can_suspend(self) -> bool:
        ended = (SubscriptionState.PENDING, SubscriptionState.CANCELLED)
        return self.subscription.state not in ended and not self.can_resume


@dataclass(frozen=True, slots=True)
class CustomerFile:
    customer: Customer
    subscriptions: list[SubscriptionLine]
    instances: list[Instance]
    period: Period
    entries: list[SupportEntry]  # of the current period
    summary: PeriodSummary | None  # None: no support plan this period
    awaiting_approval: list[SupportEntry]  # of any period
    invoices: list[Invoice]


async def customer_file(
    billing: BillingContext, catalog: Catalog | None, customer_id: str
) -> CustomerFile:
    """Everything about one customer; raises UnknownCustomer (404) for no such customer."""
    customer = await Customers(billing).get(customer_id)
    subscriptions = await Subscriptions(billing).for_customer(customer_id)
    instances = await _instances(billing.sessions, customer_id)
    by_id = {instance.id: instance for instance in instances}
    ledger = Ledger(billing)
    try:
        summary: PeriodSummary | None = await ledger.summary(customer_id)
    except NoSupportSubscription:
        summary = None
    return CustomerFile(
        customer=customer,
        subscriptions=[
            SubscriptionLine(
                subscription,
                plan_name(catalog, subscription.plan_id, subscription.plan_version),
                by_id.get(subscription.instance_ref or ""),
            )
            for subscription in subscriptions
        ],
        instances=instances,
        period=Period.of(billing.clock()),
        entries=await ledger.entries(customer_id),
        summary=summary,
        awaiting_approval=await ledger.awaiting_approval(customer_id),
        invoices=await Invoices(billing).for_customer(customer_id),
    )


async def _instances(
    sessions: async_sessionmaker[AsyncSession], customer_id: str
) -> list[Instance]:
    # The portal provisions a customer's instances with their customer id as the ref.
    async with sessions() as session:
        return await instances(session, customer_ref=customer_id)


# -- the outbox -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxQueue:
    pending: list[OutboxMessage]
    retrying: list[OutboxMessage]
    dead: list[OutboxMessage]
    counts: dict[str, int]


async def outbox_queue(billing: BillingContext) -> OutboxQueue:
    return OutboxQueue(
        pending=await outbox_messages(billing, OutboxState.PENDING, QUEUE_SHOWN),
        retrying=await outbox_messages(billing, OutboxState.RETRYING, QUEUE_SHOWN),
        dead=await outbox_messages(billing, OutboxState.DEAD, QUEUE_SHOWN),
        counts=await outbox_counts(billing),
    )


# -- the catalog ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogView:
    plans: tuple[Plan, ...]  # empty when no catalog ever loaded
    loaded_at: datetime | None
    failure: ReloadFailure | None
    directory: str

    @property
    def application_plans(self) -> list[ApplicationHostingPlan]:
        """The newest version of each application-hosting plan: what a rollout targets."""
        newest: dict[str, ApplicationHostingPlan] = {}
        for plan in self.plans:
            if isinstance(plan, ApplicationHostingPlan):
                newest[plan.id] = plan  # the catalog orders versions oldest first
        return list(newest.values())


def catalog_view(catalogs: CatalogHolder) -> CatalogView:
    catalog = serving_catalog(catalogs)
    failure = catalogs.last_failure
    if catalog is None and failure is None:
        # The very first load failed: say why, as a reload would.
        failure = catalogs.reload()
        catalog = serving_catalog(catalogs) if failure is None else None
    return CatalogView(
        plans=catalog.plans if catalog is not None else (),
        loaded_at=catalogs.loaded_at,
        failure=failure,
        directory=str(catalogs.settings.directory),
    )
