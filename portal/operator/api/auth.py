"""Who may call ``/api/v1``: bearer tokens from ``dockyard operators token``.

- No token, or one that is unknown or revoked: 401 (JSON, with WWW-Authenticate).
- Operator tokens may do everything; finance tokens may read (GET) and get 403 on
  anything that changes state. Customers cannot hold tokens (Accounts refuses to issue
  them), and a customer user behind a token would get 403 everywhere.

The API uses no cookies, so it needs no CSRF token; the session middleware skips it.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.openapi.spec import Components, SecurityScheme
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from portal.accounts.models import Role
from portal.web.errors import answer
from portal.web.guards import viewer_of
from portal.web.services import services_of
from portal.web.viewer import Viewer

BEARER_SCHEME = "bearerToken"
API_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dockyard"'}


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException(
                "send 'Authorization: Bearer <token>' (dockyard operators token EMAIL)"
            )
        user = await services_of(connection.app.state).accounts.user_for_token(token)
        if user is None:
            raise NotAuthorizedException("unknown or revoked token")
        return AuthenticationResult(user=Viewer.of(user), auth=token)


def unauthorized(request: Request[Any, Any, Any], error: NotAuthorizedException) -> Response[Any]:
    """401 as JSON with the challenge a client expects (the app's handler drops headers)."""
    response = answer(request, HTTP_401_UNAUTHORIZED, error.detail)
    response.headers.update(CHALLENGE)
    return response


def _allow(roles: frozenset[Role], refusal: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if viewer_of(connection).role not in roles:
            raise PermissionDeniedException(refusal)

    return guard


api_readers = _allow(
    frozenset({Role.OPERATOR, Role.FINANCE}), "the API is for operator and finance tokens"
)
api_writers = _allow(
    frozenset({Role.OPERATOR}), "only operator tokens may change things; finance tokens read"
)


def declare_bearer_scheme(app_config: AppConfig) -> AppConfig:
    """on_app_init hook: the bearer scheme in the OpenAPI components (the API router
    requires it on every operation)."""
    if app_config.openapi_config is None:
        return app_config
    config = copy(app_config.openapi_config)  # the caller's config object stays as it was
    app_config.openapi_config = config
    scheme = Components(
        security_schemes={
            BEARER_SCHEME: SecurityScheme(
                type="http",
                scheme="bearer",
                description="A token from `dockyard operators token EMAIL --name WHAT`.",
            )
        }
    )
    existing = config.components
    config.components = [*existing, scheme] if isinstance(existing, list) else [existing, scheme]
    return app_config
