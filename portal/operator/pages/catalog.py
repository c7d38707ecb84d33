"""The catalog as the portal serves it, and reloading it after editing the YAML.

A reload that finds problems changes nothing: the last good catalog keeps serving and
the problems are listed until a reload succeeds.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from plans.render import describe, price
from portal.operator.actions import reload_catalog
from portal.operator.page_data import catalog_view
from portal.web.rendering import flash, page, see_other
from portal.web.services import ServicesDep


@get("/ops/catalog")
async def catalog_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    view = catalog_view(services.catalog_holder)
    return page(request, "operator/catalog.html", view=view, describe=describe, price=price)


@post("/ops/catalog/reload")
async def reload_catalog_now(request: Request[Any, Any, Any], services: ServicesDep) -> Redirect:
    failure = await reload_catalog(services.catalog_holder)
    if failure is None:
        flash(request, "The catalog was reloaded.")
    else:
        count = len(failure.problems)
        flash(
            request,
            f"The catalog was not reloaded: {count} problem{'s' if count != 1 else ''} "
            "(listed below). The last good catalog keeps serving.",
            "error",
        )
    return see_other("/ops/catalog")
