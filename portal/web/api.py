"""The operator JSON API under ``/api/v1``, for scripts and other tools.

Bearer tokens from ``dockyard operators token`` (see api_auth: operators read and write,
finance tokens read). The actions are the operator pages' own (portal.operator_actions),
so the two never disagree. The OpenAPI schema is at ``/api/v1/schema/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.base import DefineMiddleware

from portal.web.api_auth import API_SECURITY, BearerTokenMiddleware, api_readers, unauthorized
from portal.web.api_customers import (
    get_customer,
    get_subscription,
    list_customers,
    log_support_api,
    resume_subscription_api,
    suspend_subscription_api,
)
from portal.web.api_operations import (
    get_catalog,
    get_rollout,
    list_outbox,
    list_rollouts,
    reload_catalog_api,
    retry_outbox,
    start_rollout_api,
)
from portal.web.api_schemas import strict_body
from portal.web.rollout_state import provide_rollouts
from portal.web.security import refuse_nul
from portal.web.services import provide_services


async def api_checks(request: Request[Any, Any, Any]) -> None:
    """The app's checks (a router's before_request replaces the app's), then the API's."""
    await refuse_nul(request)
    await strict_body(request)


api_router = Router(
    path="/api/v1",
    route_handlers=[
        list_customers,
        get_customer,
        get_subscription,
        suspend_subscription_api,
        resume_subscription_api,
        log_support_api,
        list_outbox,
        retry_outbox,
        start_rollout_api,
        list_rollouts,
        get_rollout,
        get_catalog,
        reload_catalog_api,
    ],
    dependencies={
        "services": Provide(provide_services),
        "rollouts": Provide(provide_rollouts),
    },
    # OPTIONS too (litestar skips it by default): the router's guard asks every request
    # who it is, so an OPTIONS with a valid token must be authenticated to be answered.
    middleware=[DefineMiddleware(BearerTokenMiddleware, exclude_http_methods=[])],
    exception_handlers={NotAuthorizedException: unauthorized},
    guards=[api_readers],
    before_request=api_checks,
    security=API_SECURITY,
    tags=["operators"],
)
