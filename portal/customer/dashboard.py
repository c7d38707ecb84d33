"""A customer's dashboard: instances, subscriptions, support hours and invoices, from
billing and the provisioner together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billing import (
    BillingContext,
    Customer,
    Cycle,
    EntryCategory,
    Invoice,
    Invoices,
    Ledger,
    NextCharge,
    NoSupportSubscription,
    Subscription,
    Subscriptions,
    SubscriptionState,
    SupportEntry,
    next_charge,
    service_period,
)
from plans import Catalog, CatalogError, Plan
from plans.model import (
    ApplicationHostingPlan,
    PerHour,
    ServerHostingPlan,
    ServicePlan,
    SupportPlan,
)
from portal.customer.hours import Chart, HoursFigures, chart, figures
from portal.customer.instance_words import (
    CustomerEvent,
    customer_events,
    settled,
    status_words,
)
from provisioner import EngineUnavailable, InstanceState, InstanceView, Provisioner

RECENT_EVENTS = 5
_ENDED = (SubscriptionState.PENDING.value, SubscriptionState.CANCELLED.value)


@dataclass(frozen=True, slots=True)
class InstanceCard:
    view: InstanceView
    plan_name: str

    @property
    def recent(self) -> list[CustomerEvent]:
        """The latest events, told for the customer (portal.customer.instance_words)."""
        return customer_events(self.view.events)[:RECENT_EVENTS]

    @property
    def status_words(self) -> str | None:
        return status_words(self.view.instance)

    @property
    def settled(self) -> bool:
        return settled(self.view.instance)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    subscription: Subscription
    plan: Plan | None  # None: the version left the catalog (the row still shows)
    next_plan: Plan | None  # a downgrade waiting for the period end
    # Stripe's billing cycle running now (a trial from its first day, a partial first
    # period from the start), not the calendar month; None without a recurring fee.
    service: Cycle | None = None
    next_charge: NextCharge | None = None

    @property
    def plan_name(self) -> str:
        return self.plan.name if self.plan else self.subscription.plan_id

    @property
    def is_hosting(self) -> bool:
        return isinstance(self.plan, ApplicationHostingPlan | ServerHostingPlan)

    @property
    def live(self) -> bool:
        return self.subscription.state not in _ENDED

    @property
    def being_set_up(self) -> bool:
        return self.is_hosting and self.live and self.subscription.instance_ref is None

    @property
    def awaiting_payment(self) -> bool:
        return self.subscription.state == SubscriptionState.PENDING.value

    @property
    def can_change_plan(self) -> bool:
        billed_by_period = self.plan is not None and self.plan.pricing.interval.months > 0
        return self.live and self.subscription.cancel_at is None and billed_by_period

    @property
    def can_keep(self) -> bool:
        """A cancellation waits to take effect: it can still be withdrawn (billing decides
        whether, e.g. not once leaving early was charged)."""
        return self.live and self.subscription.cancel_at is not None

    @property
    def can_cancel(self) -> bool:
        return self.subscription.state != SubscriptionState.CANCELLED.value and (
            self.subscription.cancel_at is None
        )


@dataclass(frozen=True, slots=True)
class SupportHours:
    """One kind of time (support, developer service...) in the current period."""

    row: SubscriptionRow
    figures: HoursFigures
    chart: Chart
    entries: list[SupportEntry]


@dataclass(frozen=True, slots=True)
class Dashboard:
    customer: Customer
    subscriptions: list[SubscriptionRow]
    instances: list[InstanceCard]
    hours: list[SupportHours]
    awaiting_approval: list[SupportEntry]
    invoices: list[Invoice]
    engine_problem: str | None = None  # instances could not be read right now

    @property
    def settling(self) -> bool:
        """Something is being set up or changed: the page refreshes itself until it is done."""
        return any(row.being_set_up for row in self.subscriptions) or any(
            not card.settled for card in self.instances
        )


def plan_of(catalog: Catalog, plan_id: str | None, version: int | None) -> Plan | None:
    if plan_id is None or version is None:
        return None
    try:
        return catalog.get(plan_id, version)
    except CatalogError:
        return None


def subscription_row(
    catalog: Catalog, subscription: Subscription, now: datetime
) -> SubscriptionRow:
    plan = plan_of(catalog, subscription.plan_id, subscription.plan_version)
    live = subscription.state not in _ENDED
    return SubscriptionRow(
        subscription,
        plan,
        plan_of(catalog, subscription.next_plan_id, subscription.next_plan_version),
        service=service_period(subscription, plan, now) if plan and live else None,
        next_charge=next_charge(subscription, plan, now) if plan and live else None,
    )


async def subscription_rows(
    billing: BillingContext, customer_id: str, session: AsyncSession | None = None
) -> list[SubscriptionRow]:
    found = await Subscriptions(billing).for_customer(customer_id, session=session)
    return rows_of(billing, found)


def rows_of(billing: BillingContext, subscriptions: list[Subscription]) -> list[SubscriptionRow]:
    catalog, now = billing.catalog(), billing.clock()
    return [subscription_row(catalog, s, now) for s in subscriptions]


async def dashboard(
    billing: BillingContext, provisioner: Provisioner | None, customer_id: str
) -> Dashboard:
    """Everything the dashboard shows; ``provisioner`` None: the engine is unavailable.

    Everything is read in one session (one connection, the customer looked up once, with
    the subscriptions, each thing read once), the instances in one query: the page is
    asked for on every load, and polled while something settles."""
    ledger = Ledger(billing)
    instances: list[InstanceCard] = []
    problem = None
    async with billing.sessions() as session:
        # Held here, the customer stays in the session: every later lookup of it (each
        # read checks the customer exists) finds it there, with no query.
        customer, found = await Subscriptions(billing).with_customer(customer_id, session)
        rows = rows_of(billing, found)
        entries, awaiting_approval = await ledger.entries_and_awaiting_approval(
            customer_id, session=session
        )
        hours = await support_hours(ledger, customer_id, rows, entries, session=session)
        invoices = await Invoices(billing).for_customer(customer_id, session=session)
        if provisioner is None:
            problem = "The container engine is not reachable right now; instances show again soon."
        else:
            try:
                instances = await instance_cards(
                    billing.catalog(), provisioner, customer_id, session=session
                )
            except EngineUnavailable as error:
                problem = str(error)
    return Dashboard(
        customer=customer,
        subscriptions=rows,
        instances=instances,
        hours=hours,
        awaiting_approval=awaiting_approval,
        invoices=invoices,
        engine_problem=problem,
    )


async def instance_cards(
    catalog: Catalog,
    provisioner: Provisioner,
    customer_id: str,
    session: AsyncSession | None = None,
) -> list[InstanceCard]:
    cards = []
    for view in await provisioner.views(customer_id, session=session):
        instance = view.instance
        if instance.state == InstanceState.PURGED.value:
            continue
        plan = plan_of(catalog, instance.plan_id, instance.plan_version)
        cards.append(InstanceCard(view, plan.name if plan else instance.plan_id))
    return cards


def time_category(plan: Plan | None) -> EntryCategory | None:
    """The kind of time a plan's subscription counts, if it sells time at all."""
    if isinstance(plan, SupportPlan):
        return EntryCategory.SUPPORT
    if isinstance(plan, ServicePlan):
        return EntryCategory(plan.terms.category.value)
    return None


async def support_hours(
    ledger: Ledger,
    customer_id: str,
    rows: list[SubscriptionRow],
    entries: list[SupportEntry],
    session: AsyncSession | None = None,
) -> list[SupportHours]:
    """This period's hours per kind of time, on the newest live subscription of each kind
    (the one the ledger counts new time on); ``entries``: the customer's of this period,
    ``rows``: all their subscriptions (read in ``session``)."""
    subscriptions = [row.subscription for row in rows]
    seen: set[EntryCategory] = set()
    found = []
    for row in reversed(rows):
        plan, category = row.plan, time_category(row.plan)
        if not isinstance(plan, SupportPlan | ServicePlan) or category is None:
            continue
        if category in seen or not row.live:
            continue
        seen.add(category)
        try:
            summary = await ledger.summary(
                customer_id, category=category, session=session, subscriptions=subscriptions
            )
        except NoSupportSubscription:
            continue
        terms = plan.terms
        cap = None
        if isinstance(terms, PerHour):
            cap = row.subscription.monthly_cap_minutes or terms.monthly_cap_minutes
        hours_of = figures(summary, terms, cap)
        mine = [entry for entry in entries if entry.category == category.value]
        found.append(SupportHours(row, hours_of, chart(hours_of), mine))
    found.reverse()
    return found
