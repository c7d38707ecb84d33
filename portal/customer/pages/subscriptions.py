"""Changing a subscription's plan and cancelling it, each explained before confirming."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from billing import InvalidTransition, Subscriptions
from portal.customer.dashboard import SubscriptionRow, subscription_row
from portal.customer.pages.common import owned_subscription
from portal.customer.terms import cancel_preview, downgrade_date, plan_choices
from portal.web.forms import read_form
from portal.web.rendering import flash, page, see_other
from portal.web.services import Services, ServicesDep


async def _row(
    services: Services, request: Request[Any, Any, Any], subscription_id: str
) -> SubscriptionRow:
    subscription = await owned_subscription(services, request, subscription_id)
    return subscription_row(services.catalog(), subscription, services.billing.clock())


def _change_page(
    request: Request[Any, Any, Any],
    services: Services,
    row: SubscriptionRow,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Template:
    now = services.billing.clock()
    choices = plan_choices(services.catalog(), row, now) if row.can_change_plan else []
    return page(
        request,
        "customer/change_plan.html",
        status_code=status_code,
        row=row,
        choices=choices,
        error=error,
    )


@get("/subscriptions/{subscription_id:str}/plan")
async def change_plan_form(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Template:
    return _change_page(request, services, await _row(services, request, subscription_id))


@post("/subscriptions/{subscription_id:str}/plan")
async def change_plan_submit(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Template | Redirect:
    row = await _row(services, request, subscription_id)
    form = await read_form(request)
    wanted = form.text("plan", required="choose a plan", limit=64)
    now = services.billing.clock()
    choices = plan_choices(services.catalog(), row, now) if row.can_change_plan else []
    target = next((c.card.plan for c in choices if c.card.id == wanted and not c.current), None)
    if target is None:
        error = form.errors.get("plan") or "choose one of the other plans listed"
        return _change_page(request, services, row, status_code=HTTP_400_BAD_REQUEST, error=error)
    changed = await Subscriptions(services.billing).change_plan(
        row.subscription.id, target.id, target.version
    )
    if changed.next_plan_id is not None:
        flash(
            request,
            f"You move to {target.name} on {downgrade_date(row, now):%Y-%m-%d}; "
            "until then you keep your current plan.",
        )
    else:
        flash(request, f"You are now on {target.name}.")
    return see_other("/dashboard")


@get("/subscriptions/{subscription_id:str}/cancel")
async def cancel_form(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Template:
    row = await _row(services, request, subscription_id)
    preview = cancel_preview(row, services.billing.clock()) if row.can_cancel else None
    return page(request, "customer/cancel.html", row=row, preview=preview)


@post("/subscriptions/{subscription_id:str}/cancel")
async def cancel_submit(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Redirect:
    row = await _row(services, request, subscription_id)
    cancelled = await Subscriptions(services.billing).cancel(row.subscription.id)
    if cancelled.cancel_at is None or cancelled.ended_at is not None:
        flash(request, f"{row.plan_name} is cancelled.")
    else:
        flash(
            request,
            f"{row.plan_name} is cancelled: it ends on {cancelled.cancel_at:%Y-%m-%d}, "
            "and until then everything keeps running.",
        )
    return see_other("/dashboard")


@post("/subscriptions/{subscription_id:str}/keep")
async def keep_submit(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Redirect:
    """Withdraw a cancellation that has not taken effect yet."""
    row = await _row(services, request, subscription_id)
    try:
        await Subscriptions(services.billing).keep(row.subscription.id)
    except InvalidTransition as refused:
        flash(request, str(refused), "error")
    else:
        flash(request, f"{row.plan_name} continues: the cancellation is withdrawn.")
    return see_other("/dashboard")
