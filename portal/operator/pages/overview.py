"""Operator pages under /ops: the overview here, the rest in ``operator_*`` modules.

Every page is for operators only (finance and customers get 403), rendered on the
server and usable without JavaScript; every form carries the CSRF token.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import Provide
from litestar.response import Template

from portal.operator.page_data import overview
from portal.operator.pages.backups import BACKUP_HANDLERS
from portal.operator.pages.catalog import catalog_page, reload_catalog_now
from portal.operator.pages.customers import (
    customer_page,
    customers_page,
    log_support,
    resume,
    sign_out_everywhere,
    suspend,
)
from portal.operator.pages.instances import instance_page, restart_instance, update_instance
from portal.operator.pages.outbox import outbox_page, retry_message
from portal.operator.pages.rollouts import (
    rollout_page,
    rollout_progress,
    rollouts_page,
    start_rollout_now,
)
from portal.operator.rollout_state import provide_rollouts
from portal.web.guards import operators_only
from portal.web.rendering import page
from portal.web.services import ServicesDep, provide_services


@get("/ops")
async def overview_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    facts = await overview(services.billing, services.catalog_holder)
    return page(request, "operator/overview.html", facts=facts)


operator_router = Router(
    path="/",
    route_handlers=[
        overview_page,
        customers_page,
        customer_page,
        log_support,
        suspend,
        resume,
        sign_out_everywhere,
        instance_page,
        restart_instance,
        update_instance,
        *BACKUP_HANDLERS,
        outbox_page,
        retry_message,
        catalog_page,
        reload_catalog_now,
        rollouts_page,
        start_rollout_now,
        rollout_page,
        rollout_progress,
    ],
    dependencies={
        "services": Provide(provide_services),
        "rollouts": Provide(provide_rollouts),
    },
    guards=[operators_only],
    include_in_schema=False,
)
