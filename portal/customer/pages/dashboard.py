"""Customer pages: the dashboard and instances here; ordering, plan changes, cancelling,
support approvals and invoices in the customer_*.py modules. Customers only (403 for
staff); every object is looked up as the signed-in customer's (404 otherwise)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Template

from portal.customer.dashboard import dashboard
from portal.customer.instance import InstancePage, instance_page
from portal.customer.pages.backups import BACKUP_HANDLERS
from portal.customer.pages.common import customer_id_of, fleet_or_none
from portal.customer.pages.domains import add_domain, remove_domain
from portal.customer.pages.order import order_done, order_form, order_submit, pay_subscription
from portal.customer.pages.subscriptions import (
    cancel_form,
    cancel_submit,
    change_plan_form,
    change_plan_submit,
    keep_submit,
)
from portal.customer.pages.support import approve_entry, invoice_page, reject_entry
from portal.web.guards import customers_only
from portal.web.rendering import page
from portal.web.services import ServicesDep, provide_services


@get("/dashboard")
async def dashboard_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    board = await dashboard(
        services.billing, await fleet_or_none(services), customer_id_of(request)
    )
    return page(request, "customer/dashboard.html", board=board)


async def _shown(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: str, with_logs: bool
) -> InstancePage:
    return await instance_page(
        services.catalog(),
        await services.provisioner(),
        customer_id_of(request),
        instance_id,
        with_logs=with_logs,
    )


@get("/instances/{instance_id:str}")
async def instance_detail(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Template:
    shown = await _shown(request, services, instance_id, with_logs=True)
    ssh = services.runtime.settings.ssh  # how to log in, for a server
    return page(request, "customer/instance.html", shown=shown, ssh=ssh)


@get("/instances/{instance_id:str}/status")
async def instance_status(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Template:
    """The status panel alone, for htmx to poll until the instance settles."""
    shown = await _shown(request, services, instance_id, with_logs=False)
    # Not page(): a poll must not take the flash messages meant for the next full page.
    return Template(template_name="customer/_instance_status.html", context={"shown": shown})


customer_router = Router(
    path="/",
    route_handlers=[
        dashboard_page,
        instance_detail,
        instance_status,
        add_domain,
        remove_domain,
        *BACKUP_HANDLERS,
        order_form,
        order_submit,
        order_done,
        pay_subscription,
        change_plan_form,
        change_plan_submit,
        cancel_form,
        cancel_submit,
        keep_submit,
        approve_entry,
        reject_entry,
        invoice_page,
    ],
    dependencies={"services": Provide(provide_services)},
    guards=[customers_only],
    include_in_schema=False,
)
