"""Rendering pages: every template gets who is signed in (or None) and flash messages."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from litestar import Request
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER

from portal.web.viewer import Viewer
from provisioner import ProvisioningError

T = TypeVar("T")


def viewer_or_none(request: Request[Any, Any, Any]) -> Viewer | None:
    user = request.scope.get("user")
    return user if isinstance(user, Viewer) else None


def flash(request: Request[Any, Any, Any], message: str, kind: str = "ok") -> None:
    """A message for the next page (kept in the session, shown once)."""
    messages = list(request.session.get("flash", []))
    messages.append({"kind": kind, "text": message})
    request.session["flash"] = messages


def page(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = HTTP_200_OK,
    **context: Any,
) -> Template:
    flashes: list[dict[str, str]] = []
    if request.scope.get("session") is not None and request.session.get("flash"):
        flashes = list(request.session.pop("flash"))
    context.setdefault("viewer", viewer_or_none(request) or _session_viewer(request))
    return Template(
        template_name=template,
        context={**context, "flashes": flashes},
        status_code=status_code,
    )


def _session_viewer(request: Request[Any, Any, Any]) -> dict[str, str] | None:
    # Public pages skip loading the user; the session still says who signed in.
    if request.scope.get("session") is None:
        return None
    role = request.session.get("role")
    email = request.session.get("email")
    return {"role": role, "email": email} if role and email else None


def see_other(path: str) -> Redirect:
    """After a form post: 303, so reloading the next page does not post again."""
    return Redirect(path=path, status_code=HTTP_303_SEE_OTHER)


async def or_flash_refused(request: Request[Any, Any, Any], work: Awaitable[T]) -> T | None:
    """What ``work`` returns; a provisioner's refusal (busy, a damaged archive, the engine
    down) is flashed instead (None). Not found is not a refusal: it stays a 404."""
    try:
        return await work
    except ProvisioningError as refused:
        if isinstance(refused, LookupError):
            raise
        flash(request, str(refused), "error")
        return None
