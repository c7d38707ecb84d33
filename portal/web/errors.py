"""One place that turns errors into answers: a page for people, JSON for the API.

Domain lookups (an unknown or someone else's instance, subscription, entry or invoice)
become 404, refused actions 400 or 409 with the domain's own message, and anything
unexpected a 500 page, logged with its traceback, never shown.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_303_SEE_OTHER,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from billing import BillingError
from plans import CatalogError
from portal.accounts.service import AccountError
from portal.errors import PortalError
from portal.web.rendering import page
from provisioner import EngineUnavailable, ProvisioningError

log = logging.getLogger(__name__)

_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not for you",
    404: "Not found",
    409: "Not possible right now",
    429: "Too many attempts",
    500: "Something broke on our side",
    503: "Temporarily unavailable",
}


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def answer(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    if _is_api(request) or request.url.path in {"/stripe/webhook", "/readyz", "/healthz"}:
        return Response(
            {"status_code": status, "detail": detail}, status_code=status, media_type=MediaType.JSON
        )
    title = _TITLES.get(status, "Error")
    return page(request, "error.html", status_code=status, title=title, detail=detail)


def _http(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if isinstance(error, NotAuthorizedException) and not _is_api(request):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        # Encoded: a target with its own query string must come back whole.
        return Redirect(path=f"/signin?next={quote(target)}", status_code=HTTP_303_SEE_OTHER)
    status = error.status_code
    detail = error.detail
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        detail = "the form or request was malformed: " + _problems(error.extra)
    if isinstance(error, PermissionDeniedException):
        detail = detail or "your account may not open this page"
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, detail)
        detail = "please try again in a moment"
    response = answer(request, status, detail)
    # What the error says of itself: a 405's Allow, a 401's WWW-Authenticate, a 429's
    # Retry-After.
    for name, value in (error.headers or {}).items():
        response.headers.setdefault(name, value)
    return response


def _problems(extra: list[Any]) -> str:
    """litestar's validation details as "field: message; ..."."""
    items = [item for item in extra if isinstance(item, dict)]
    return "; ".join(f"{item.get('key', '?')}: {item.get('message', '')}" for item in items)


def _domain(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, LookupError):
        return answer(request, HTTP_404_NOT_FOUND, "there is nothing here (or it is not yours)")
    if isinstance(error, EngineUnavailable):
        return answer(request, HTTP_503_SERVICE_UNAVAILABLE, str(error))
    if isinstance(error, ValueError | AccountError | CatalogError):
        return answer(request, HTTP_400_BAD_REQUEST, str(error))
    return answer(request, HTTP_409_CONFLICT, str(error))


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return answer(request, HTTP_500_INTERNAL_SERVER_ERROR, "the error was logged; please try again")


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {
        HTTPException: _http,
        BillingError: _domain,
        ProvisioningError: _domain,
        CatalogError: _domain,
        AccountError: _domain,
        PortalError: _domain,
        Exception: _unexpected,
    }


__all__ = ["Template", "answer", "exception_handlers"]
