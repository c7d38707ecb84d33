"""The operator JSON API under ``/api/v1``, for scripts and other tools.

Bearer tokens from ``dockyard operators token`` (see api_auth: operators read and write,
finance tokens read). The actions are the operator pages' own (portal.operator.actions),
so the two never disagree. The OpenAPI schema is at ``/api/v1/schema/openapi.json``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, Router
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.datastructures import ResponseSpec

from portal.operator.api.auth import API_SECURITY, BearerTokenMiddleware, api_readers, unauthorized
from portal.operator.api.backups import BACKUP_OPERATIONS
from portal.operator.api.customers import (
    get_customer,
    get_subscription,
    list_customers,
    log_support_api,
    resume_subscription_api,
    suspend_subscription_api,
)
from portal.operator.api.operations import (
    get_catalog,
    get_rollout,
    list_outbox,
    list_rollouts,
    reload_catalog_api,
    retry_outbox,
    start_rollout_api,
)
from portal.operator.api.schemas import In, strict_body
from portal.operator.rollout_state import provide_rollouts
from portal.web.security import refuse_nul
from portal.web.services import provide_services


async def api_checks(request: Request[Any, Any, Any]) -> None:
    """The app's checks (a router's before_request replaces the app's), then the API's."""
    await refuse_nul(request)
    await strict_body(request)


class ErrorOut(msgspec.Struct):
    """Every error answer's body."""

    status_code: int
    detail: str


def _error(what: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=what, generate_examples=False)


# What any operation may answer besides its success: documented on every one, so the
# document lists every status the API really gives (schemathesis checks that it does).
API_ERRORS: dict[int, ResponseSpec] = {
    400: _error("The request is malformed: the detail names the field"),
    401: _error("No token, or an unknown or revoked one"),
    403: _error("A finance token may only read"),
    404: _error("No such object"),
    405: _error("The path exists, not with this method: Allow lists those it has"),
    409: _error("The object is not in a state that allows this (e.g. a rollout running)"),
    503: _error("The container engine or Stripe cannot be reached right now"),
}
_API_HANDLERS = [
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
    *BACKUP_OPERATIONS,
]
for _handler in _API_HANDLERS:
    _handler.responses = {**API_ERRORS, **(_handler.responses or {})}

api_router = Router(
    path="/api/v1",
    route_handlers=_API_HANDLERS,
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


def declare_closed_bodies(app: Litestar) -> None:
    """on_startup hook: request bodies refuse fields they do not know (``In`` structs
    forbid them), so the document says ``additionalProperties: false`` for each; litestar
    does not derive that from msgspec's ``forbid_unknown_fields``."""
    components = app.openapi_schema.components
    closed = {cls.__name__ for cls in _subclasses(In)}
    for name, schema in (components.schemas or {}).items():
        if name.rsplit(".", 1)[-1].split("_")[-1] in closed or name in closed:
            schema.additional_properties = False


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
