"""Operators find a customer, read their whole file, log support time for them, and
suspend or resume their subscriptions (the instance follows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from billing import BillingError, EntryCategory, Subscriptions
from portal.errors import PortalError
from portal.operator.actions import (
    REASON_LIMIT,
    SupportTime,
    log_support_time,
    resume_subscription,
    support_outcome,
    suspend_subscription,
)
from portal.operator.page_data import customer_file, find_customers, serving_catalog
from portal.web.forms import Form, read_form
from portal.web.guards import viewer_of
from portal.web.rendering import flash, page, see_other
from portal.web.services import Services, ServicesDep
from provisioner import ProvisioningError

SHOWN = 200  # a search narrower than this is the way to find one customer among many
CATEGORIES = [(category.value, category.value.replace("_", " ")) for category in EntryCategory]


@get("/ops/customers")
async def customers_page(
    request: Request[Any, Any, Any], services: ServicesDep, q: FromQuery[str] = ""
) -> Template:
    query = q.strip()[:200]
    found = await find_customers(services.billing, query)
    return page(
        request,
        "operator/customers.html",
        q=query,
        customers=found[:SHOWN],
        more=max(0, len(found) - SHOWN),
    )


async def _customer(
    request: Request[Any, Any, Any],
    services: Services,
    customer_id: FromPath[str],
    *,
    status_code: int = 200,
    support: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    file = await customer_file(
        services.billing, serving_catalog(services.catalog_holder), customer_id
    )
    return page(
        request,
        "operator/customer.html",
        status_code=status_code,
        file=file,
        support=support or {"category": EntryCategory.SUPPORT.value},
        errors=errors or {},
        categories=CATEGORIES,
        reason_limit=REASON_LIMIT,
    )


@get("/ops/customers/{customer_id:str}")
async def customer_page(
    request: Request[Any, Any, Any], services: ServicesDep, customer_id: FromPath[str]
) -> Template:
    return await _customer(request, services, customer_id)


def worked_at_of(form: Form) -> datetime | None:
    """The optional "worked at" field: a date (that day, 00:00 UTC) or a date and time."""
    raw = form.text("worked_at", limit=32)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 at +05:00 is before year 1
        form.errors["worked_at"] = "a date such as 2026-11-20, or a date and time in UTC"
        return None


@post("/ops/customers/{customer_id:str}/support")
async def log_support(
    request: Request[Any, Any, Any], services: ServicesDep, customer_id: FromPath[str]
) -> Template | Redirect:
    form = await read_form(request)
    minutes = form.whole(
        "minutes", minimum=1, maximum=24 * 60, required="how many minutes did it take?"
    )
    note = form.text("note", required="say what was done", limit=2000)
    category = form.text("category", limit=32) or EntryCategory.SUPPORT.value
    if category not in {value for value, _ in CATEGORIES}:
        form.errors["category"] = "choose one of the listed categories"
    worked_at = worked_at_of(form)
    extra_work = form.values.get("extra_work") == "on"
    status = HTTP_400_BAD_REQUEST
    if form.ok and minutes is not None:
        time = SupportTime(minutes, note, category, worked_at, extra_work)
        try:
            entry = await log_support_time(
                services.billing, customer_id, time, viewer_of(request).name
            )
        except BillingError as refused:
            # No support plan, over a day, in the future... the ledger's words, beside the form.
            status = HTTP_400_BAD_REQUEST if isinstance(refused, ValueError) else HTTP_409_CONFLICT
            form.errors["support"] = str(refused)
        else:
            message, kind = support_outcome(entry)
            flash(request, message, kind)
            return see_other(f"/ops/customers/{customer_id}#support")
    return await _customer(
        request, services, customer_id, status_code=status, support=form.values, errors=form.errors
    )


@post("/ops/subscriptions/{subscription_id:str}/suspend")
async def suspend(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Template | Redirect:
    subscription = await Subscriptions(services.billing).get(subscription_id)
    form = await read_form(request)
    reason = form.text("reason", required="say why (the customer may ask)", limit=REASON_LIMIT)
    if form.ok and form.values.get("confirm") != "on":
        # Suspending stops a customer's service at once: never one click away.
        form.errors["reason"] = "tick the box to confirm: their service stops now"
    if not form.ok:
        return await _customer(
            request,
            services,
            subscription.customer_id,
            status_code=HTTP_400_BAD_REQUEST,
            errors={f"reason-{subscription_id}": form.errors["reason"]},
        )
    try:
        change = await suspend_subscription(
            services.billing,
            services.provisioner,
            subscription_id,
            reason,
            viewer_of(request).email,
        )
    except (BillingError, PortalError) as refused:
        flash(request, str(refused), "error")
    else:
        flash(request, change.summary("suspended"), "warn" if change.instance_problem else "ok")
    return see_other(f"/ops/customers/{subscription.customer_id}")


@post("/ops/subscriptions/{subscription_id:str}/resume")
async def resume(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> Redirect:
    subscription = await Subscriptions(services.billing).get(subscription_id)
    try:
        change = await resume_subscription(
            services.billing, services.provisioner, subscription_id, viewer_of(request).email
        )
    except (BillingError, ProvisioningError) as refused:
        flash(request, str(refused), "error")
    else:
        flash(request, change.summary("resumed"), "warn" if change.instance_problem else "ok")
    return see_other(f"/ops/customers/{subscription.customer_id}")


@post("/ops/customers/{customer_id:str}/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request[Any, Any, Any], services: ServicesDep, customer_id: FromPath[str]
) -> Redirect:
    """End every session of the customer's account (a lost laptop, a leaked cookie)."""
    user = await services.accounts.for_customer(customer_id)
    if user is None:
        flash(request, f"Customer {customer_id} has no account to sign out.", "warn")
    else:
        ended = await services.accounts.sign_out_everywhere(user.id)
        flash(
            request,
            f"{user.email} is signed out everywhere ({ended} session{'s' * (ended != 1)} ended).",
        )
    return see_other(f"/ops/customers/{customer_id}")
