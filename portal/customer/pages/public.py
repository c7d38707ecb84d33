"""The public catalog: what is on sale today, for anyone, signed in or not."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_301_MOVED_PERMANENTLY

from portal.customer.catalog import catalog_groups, offered_plan, plan_card
from portal.web.rendering import page
from portal.web.services import ServicesDep, provide_services


@get("/")
async def catalog_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    today = services.billing.clock().date()
    groups = catalog_groups(services.catalog(), today)
    return page(request, "public/catalog.html", groups=groups)


@get("/plans/{plan_id:str}")
async def plan_page(
    request: Request[Any, Any, Any], services: ServicesDep, plan_id: FromPath[str]
) -> Template:
    today = services.billing.clock().date()
    plan = offered_plan(services.catalog(), plan_id, today)
    return page(request, "public/plan.html", card=plan_card(plan))


@get("/favicon.ico", cache=86400)
async def favicon() -> Redirect:
    """Browsers ask for /favicon.ico whatever the page links: the icon is an SVG."""
    return Redirect(path="/static/favicon.svg", status_code=HTTP_301_MOVED_PERMANENTLY)


public_router = Router(
    path="/",
    route_handlers=[catalog_page, plan_page, favicon],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
