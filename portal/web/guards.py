"""Role guards: a signed-in user of the wrong role gets 403, never the page."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.accounts.models import Role
from portal.web.viewer import Viewer


def viewer_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Viewer:
    user = connection.scope.get("user")
    if not isinstance(user, Viewer):
        raise NotAuthorizedException("sign in first")
    return user


def _allow(*roles: Role) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if viewer_of(connection).role not in roles:
            raise PermissionDeniedException("this page is not for your role")

    return guard


customers_only = _allow(Role.CUSTOMER)
operators_only = _allow(Role.OPERATOR)
finance_only = _allow(Role.FINANCE, Role.OPERATOR)
