"""Ordering: a hosting plan with an optional support plan, or a support or service plan
alone; with Stripe through Checkout (one per subscription), without it started at once."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_503_SERVICE_UNAVAILABLE

from billing import CurrencyMismatch, Customers, StripeFailure, SubscriptionState
from plans import Plan, PlanKind
from portal.customer.catalog import offered_plan, plan_card
from portal.customer.dashboard import subscription_row, subscription_rows
from portal.customer.order_terms import order_terms, order_total, support_choices
from portal.customer.ordering import checkout_url, place_order
from portal.customer.pages.common import customer_id_of, owned_subscription
from portal.web.forms import read_form
from portal.web.rendering import flash, page, see_other
from portal.web.services import Services, ServicesDep

_HOSTING = (PlanKind.APPLICATION_HOSTING, PlanKind.SERVER_HOSTING)


def _support_plans(services: Services, plan: Plan) -> list[Plan]:
    """Support plans that may come with a hosting plan (same currency, on sale today)."""
    if plan.kind not in _HOSTING:
        return []
    today = services.billing.clock().date()
    offered = services.catalog().offered(today, PlanKind.SUPPORT)
    return [p for p in offered if p.pricing.currency == plan.pricing.currency]


async def _order_page(
    request: Request[Any, Any, Any],
    services: Services,
    plan: Plan,
    *,
    status_code: int = 200,
    chosen: str = "",
    errors: dict[str, str] | None = None,
    problem: str | None = None,
) -> Template:
    """The order page: the plan's terms, each support plan offered with its own terms and
    the order's totals with it (radio buttons: no script needed to see what one costs),
    and the totals of the order as chosen."""
    customer = await Customers(services.billing).get(customer_id_of(request))
    now = services.billing.clock()
    vat = services.runtime.settings.web.prices_include_vat
    terms = order_terms(plan, now, vat)
    choices = support_choices(terms, _support_plans(services, plan), now, vat)
    picked = next((choice for choice in choices if choice.card.id == chosen), None)
    alone = order_total([terms])
    return page(
        request,
        "customer/order.html",
        status_code=status_code,
        card=plan_card(plan),
        support_choices=choices,
        picked=picked,
        errors=errors or {},
        problem=problem,
        customer=customer,
        stripe_enabled=services.billing.stripe.enabled,
        terms=terms,
        alone=alone,  # the order without a support plan
        total=picked.total if picked is not None else alone,
    )


def _plan_for_sale(services: Services, plan_id: str) -> Plan:
    return offered_plan(services.catalog(), plan_id, services.billing.clock().date())


@get("/order/{plan_id:str}")
async def order_form(
    request: Request[Any, Any, Any], services: ServicesDep, plan_id: FromPath[str]
) -> Template:
    return await _order_page(request, services, _plan_for_sale(services, plan_id))


@post("/order/{plan_id:str}")
async def order_submit(
    request: Request[Any, Any, Any], services: ServicesDep, plan_id: FromPath[str]
) -> Template | Redirect:
    plan = _plan_for_sale(services, plan_id)
    form = await read_form(request)
    support_id = form.text("support", limit=64)
    plans = [plan]
    if support_id:
        # Only a support plan the page offered: on sale, in the plan's currency.
        support = {p.id: p for p in _support_plans(services, plan)}.get(support_id)
        if support is None:
            form.errors["support"] = "choose one of the support plans listed, or none"
        else:
            plans.append(support)
    if form.values.get("accept") != "on":
        # What is agreed is on the page; ordering means saying so, explicitly.
        form.errors["accept"] = "tick to accept these terms"
    if not form.ok:
        return await _order_page(
            request,
            services,
            plan,
            status_code=HTTP_400_BAD_REQUEST,
            chosen=support_id,
            errors=form.errors,
        )
    try:
        order = await place_order(
            services.billing,
            customer_id_of(request),
            plans,
            services.runtime.settings.web.base_url,
            services.runtime.stripe_client,
        )
    except CurrencyMismatch as mismatch:
        return await _order_page(
            request,
            services,
            plan,
            status_code=HTTP_400_BAD_REQUEST,
            chosen=support_id,
            problem=str(mismatch),
        )
    except StripeFailure as failure:
        return await _order_page(
            request,
            services,
            plan,
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            chosen=support_id,
            problem=(
                f"We could not open Stripe's payment page ({failure}). Your order is kept: "
                "try again in a moment, or pay for it later from your dashboard."
            ),
        )
    if order.checkout_url is not None:
        return see_other(order.checkout_url)
    names = " and ".join(p.name for p in plans)
    hosting = " Your instance is being set up." if plan.kind in _HOSTING else ""
    flash(request, f"{names}: your subscription has started.{hosting}")
    return see_other("/dashboard")


@get("/order/done")
async def order_done(
    request: Request[Any, Any, Any], services: ServicesDep, subscription: FromQuery[str]
) -> Template:
    """Back from Stripe Checkout: this subscription, and any other still to pay for."""
    paid = await owned_subscription(services, request, subscription)
    catalog = services.catalog()
    waiting = [
        row
        for row in await subscription_rows(services.billing, paid.customer_id)
        if row.awaiting_payment and row.subscription.id != paid.id
    ]
    return page(
        request,
        "customer/order_done.html",
        row=subscription_row(catalog, paid, services.billing.clock()),
        waiting=waiting,
    )


@post("/subscriptions/{subscription_id:str}/checkout")
async def pay_subscription(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Redirect:
    """Stripe Checkout for a subscription still waiting for payment."""
    subscription = await owned_subscription(services, request, subscription_id)
    if subscription.state != SubscriptionState.PENDING.value:
        flash(request, "That subscription is already paid for.", "warn")
        return see_other("/dashboard")
    if not services.billing.stripe.enabled:
        flash(request, "Online payment is offline right now; please try again later.", "warn")
        return see_other("/dashboard")
    customer = await Customers(services.billing).get(subscription.customer_id)
    try:
        url = await checkout_url(
            services.billing,
            services.runtime.stripe_client(),
            customer,
            subscription,
            services.runtime.settings.web.base_url,
        )
    except StripeFailure as failure:
        message = f"We could not open Stripe's payment page ({failure}). Try again soon."
        flash(request, message, "error")
        return see_other("/dashboard")
    return see_other(url)
