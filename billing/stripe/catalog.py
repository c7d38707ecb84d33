"""Mirror the plan catalog into Stripe: Products, Prices, the support-minutes Billing Meter.

What gets created, and why:

- one **Product** per plan (``metadata.dockyard_plan_id``), found by listing products and
  matching that metadata. Listing is strongly consistent; ``products.search`` can lag by
  up to an hour, so a second sync right after the first could create duplicates.
- one **Price** per plan version for its fee, ``lookup_key`` ``dockyard:<plan>:v<version>``:
  recurring for monthly and yearly plans, one-time for one-off packages. Per-hour services
  get no price: their hours are logged as entries and invoiced as invoice items in minor
  units the ledger computed (with its rounding), which a unit price cannot express.
- one **Billing Meter** ``dockyard_support_minutes`` (sum of ``value`` per customer, mapped
  by ``stripe_customer_id``): the ledger reports billable minutes as meter events.
- one **metered Price** per monthly per-hour or hour-bank support plan version,
  ``dockyard:<plan>:v<version>:minutes``: minutes are divided into billing increments
  (``transform_quantity``, rounded up) and each increment costs rate * increment / 60.
  Flat-rate support has none: its agreed extra work is invoiced as invoice items.
  A yearly hour bank has none either: a metered price bills with its subscription's
  interval, so its overage would wait a year. Its month's overage is invoiced when the
  month closes, at the same increments and price (billing/support_time/usage_invoicing.py).

Prices are immutable and found by ``lookup_key``; a price that exists is never changed,
and one that differs from the catalog is reported, not replaced. Every create carries an
idempotency key, so two syncs racing within Stripe's 24 h window create one object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import stripe
from stripe.params import PriceCreateParams, ProductCreateParams
from stripe.params.billing import MeterCreateParams

from plans import Catalog
from plans.model import HourBank, Interval, PerHour, Plan, SupportPlan

METER_EVENT_NAME = "dockyard_support_minutes"
METER_VALUE_KEY = "value"
METER_CUSTOMER_KEY = "stripe_customer_id"

Role = Literal["meter", "product", "fee", "minutes"]


def fee_lookup_key(plan_id: str, version: int) -> str:
    return f"dockyard:{plan_id}:v{version}"


def minutes_lookup_key(plan_id: str, version: int) -> str:
    return f"dockyard:{plan_id}:v{version}:minutes"


async def find_prices(
    client: stripe.StripeClient, plan_id: str, version: int
) -> tuple[str | None, str | None]:
    """The active fee and minutes price ids of a plan version, in one call by lookup key.

    A yearly minutes price (synced before yearly overage was invoiced monthly) is not
    used: it would bill a year's minutes at once."""
    fee_key, minutes_key = fee_lookup_key(plan_id, version), minutes_lookup_key(plan_id, version)
    found = await client.v1.prices.list_async(
        {"lookup_keys": [fee_key, minutes_key], "active": True, "limit": 10}
    )
    by_key = {
        price.lookup_key: price.id
        for price in found.data
        if price.lookup_key != minutes_key
        or (price.recurring is not None and price.recurring.interval == "month")
    }
    return by_key.get(fee_key), by_key.get(minutes_key)


@dataclass(slots=True)
class Action:
    """One object sync wants: found in Stripe already (``stripe_id``) or to create."""

    role: Role
    key: str  # meter event name, plan id or price lookup key
    description: str
    plan: Plan | None = None  # what a product or price is made from
    stripe_id: str | None = None
    drift: str | None = None  # an existing price that differs from the catalog

    @property
    def exists(self) -> bool:
        return self.stripe_id is not None


@dataclass(slots=True)
class SyncPlan:
    actions: list[Action]

    @property
    def to_create(self) -> list[Action]:
        return [action for action in self.actions if not action.exists]

    @property
    def drifted(self) -> list[Action]:
        return [action for action in self.actions if action.drift]


def minute_rate(plan: Plan) -> tuple[int, int] | None:
    """(rate in minor units per hour, increment in minutes) of support billed by the
    minute (per hour, or an hour bank's overage), else None."""
    if not isinstance(plan, SupportPlan):
        return None
    terms = plan.terms
    if isinstance(terms, PerHour):
        return terms.hourly_rate.minor, terms.rounding.increment_minutes
    if isinstance(terms, HourBank):
        return terms.overage_rate.minor, terms.rounding.increment_minutes
    return None


def is_metered(plan: Plan) -> bool:
    """Whether the plan's Stripe subscription carries a price on the support meter: a
    monthly plan billed by the minute."""
    return minute_rate(plan) is not None and plan.pricing.interval is Interval.MONTH


def overage_invoiced_monthly(plan: Plan) -> bool:
    """Whether the plan bills minutes but has no metered price (a yearly hour bank): each
    month's minutes are invoiced when the month closes."""
    return minute_rate(plan) is not None and not is_metered(plan)


def _increment_price(rate_minor: int, increment: int) -> tuple[int | None, Decimal | None]:
    """The price of one increment: whole minor units when exact, else a 12-place decimal."""
    whole, remainder = divmod(rate_minor * increment, 60)
    if remainder == 0:
        return whole, None
    exact = (Decimal(rate_minor) * increment / 60).quantize(Decimal("0.000000000001"))
    return None, exact


def increment_price(rate_minor: int, increment: int) -> Decimal:
    """One increment's price in minor units, exact to 12 places (a metered price's unit)."""
    whole, exact = _increment_price(rate_minor, increment)
    if whole is not None:
        return Decimal(whole)
    assert exact is not None
    return exact


def _metadata(plan: Plan, role: str) -> dict[str, str]:
    return {
        "dockyard_plan_id": plan.id,
        "dockyard_plan_version": str(plan.version),
        "dockyard_price_role": role,
    }


def _fee_params(plan: Plan, product: str) -> PriceCreateParams:
    pricing = plan.pricing
    params: PriceCreateParams = {
        "product": product,
        "currency": pricing.currency.lower(),
        "unit_amount": pricing.amount.minor,
        "lookup_key": fee_lookup_key(plan.id, plan.version),
        "nickname": f"{plan.name} v{plan.version}",
        "metadata": _metadata(plan, "fee"),
    }
    if pricing.interval in (Interval.MONTH, Interval.YEAR):
        interval: Literal["month", "year"] = (
            "month" if pricing.interval is Interval.MONTH else "year"
        )
        params["recurring"] = {"interval": interval, "usage_type": "licensed"}
    return params


def _minutes_params(plan: Plan, product: str, meter: str) -> PriceCreateParams:
    rate = minute_rate(plan)
    assert rate is not None
    assert is_metered(plan)
    rate_minor, increment = rate
    whole, exact = _increment_price(rate_minor, increment)
    params: PriceCreateParams = {
        "product": product,
        "currency": plan.pricing.currency.lower(),
        "lookup_key": minutes_lookup_key(plan.id, plan.version),
        "nickname": f"{plan.name} v{plan.version}: support minutes",
        "recurring": {"interval": "month", "usage_type": "metered", "meter": meter},
        "transform_quantity": {"divide_by": increment, "round": "up"},
        "metadata": _metadata(plan, "minutes"),
    }
    if whole is not None:
        params["unit_amount"] = whole
    else:
        assert exact is not None
        params["unit_amount_decimal"] = exact
    return params


def _product_params(plan: Plan) -> ProductCreateParams:
    params: ProductCreateParams = {
        "name": plan.name,
        "metadata": {"dockyard_plan_id": plan.id, "dockyard_plan_kind": plan.kind.value},
    }
    if plan.description:
        params["description"] = plan.description
    return params


def _meter_params() -> MeterCreateParams:
    return {
        "display_name": "Dockyard support minutes",
        "event_name": METER_EVENT_NAME,
        "default_aggregation": {"formula": "sum"},
        "customer_mapping": {"type": "by_id", "event_payload_key": METER_CUSTOMER_KEY},
        "value_settings": {"event_payload_key": METER_VALUE_KEY},
    }


def _price_drift(price: stripe.Price, params: PriceCreateParams) -> str | None:
    wanted = params.get("unit_amount")
    if wanted is not None and price.unit_amount != wanted:
        return f"Stripe has unit_amount {price.unit_amount}, the catalog {wanted}"
    if price.currency != params["currency"]:
        return f"Stripe has currency {price.currency}, the catalog {params['currency']}"
    return None


def plan_sync(client: stripe.StripeClient, catalog: Catalog) -> SyncPlan:
    """Read Stripe (GETs only) and say what exists and what must be created."""
    products: dict[str, str] = {}
    for product in client.v1.products.list(params={"limit": 100}).auto_paging_iter():
        plan_id = product.metadata.to_dict().get("dockyard_plan_id")
        if plan_id and product.active and plan_id not in products:
            products[plan_id] = product.id
    prices: dict[str, stripe.Price] = {}
    for price in client.v1.prices.list(params={"limit": 100, "active": True}).auto_paging_iter():
        if price.lookup_key:
            prices[price.lookup_key] = price
    meter_id: str | None = None
    for meter in client.v1.billing.meters.list(
        params={"limit": 100, "status": "active"}
    ).auto_paging_iter():
        if meter.event_name == METER_EVENT_NAME:
            meter_id = meter.id

    actions: list[Action] = []
    needs_meter = any(is_metered(plan) for plan in catalog)
    if needs_meter:
        actions.append(
            Action("meter", METER_EVENT_NAME, "Billing Meter for support minutes", None, meter_id)
        )
    for plan_id in catalog.ids:
        versions = catalog.versions(plan_id)
        newest = versions[-1]
        actions.append(
            Action("product", plan_id, f"Product {newest.name!r}", newest, products.get(plan_id))
        )
        for plan in versions:
            actions.extend(_price_actions(plan, prices))
    return SyncPlan(actions)


def _price_actions(plan: Plan, prices: dict[str, stripe.Price]) -> Iterable[Action]:
    if plan.pricing.interval is not Interval.HOUR:
        key = fee_lookup_key(plan.id, plan.version)
        existing = prices.get(key)
        shape = "one-time" if plan.pricing.interval is Interval.ONCE else plan.pricing.interval
        yield Action(
            "fee",
            key,
            f"{shape} price {plan.pricing.amount}",
            plan,
            existing.id if existing else None,
            drift=_price_drift(existing, _fee_params(plan, "")) if existing else None,
        )
    rate = minute_rate(plan)
    if rate is not None and is_metered(plan):
        key = minutes_lookup_key(plan.id, plan.version)
        existing = prices.get(key)
        yield Action(
            "minutes",
            key,
            f"metered price for support minutes ({rate[1]}-minute increments)",
            plan,
            existing.id if existing else None,
        )


def apply(
    client: stripe.StripeClient,
    sync_plan: SyncPlan,
    progress: Callable[[Action], None] = lambda action: None,
) -> list[Action]:
    """Create what is missing, in order (meter, then each product and its prices)."""
    ids = {action.key: action.stripe_id for action in sync_plan.actions if action.stripe_id}
    created: list[Action] = []
    for action in sync_plan.actions:
        if not action.exists:
            obj_id = _create(client, action, ids)
            action.stripe_id = obj_id
            ids[action.key] = obj_id
            created.append(action)
        progress(action)
    return created


def _create(client: stripe.StripeClient, action: Action, ids: dict[str, str]) -> str:
    options: stripe.RequestOptions = {"idempotency_key": f"dockyard-sync:{action.key}"}
    if action.role == "meter":
        return client.v1.billing.meters.create(_meter_params(), options).id
    plan = action.plan
    assert plan is not None
    if action.role == "product":
        return client.v1.products.create(_product_params(plan), options).id
    if action.role == "fee":
        return client.v1.prices.create(_fee_params(plan, ids[plan.id]), options).id
    params = _minutes_params(plan, ids[plan.id], ids[METER_EVENT_NAME])
    return client.v1.prices.create(params, options).id
