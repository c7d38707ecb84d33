"""One's own account: who is signed in where, and signing every other browser out."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from portal.accounts.session_store import session_key
from portal.web.guards import viewer_of
from portal.web.rendering import flash, page, see_other
from portal.web.security import SESSION_COOKIE
from portal.web.services import ServicesDep, provide_services


def _this_browser(request: Request[Any, Any, Any]) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return session_key(cookie) if cookie else None


@get("/account")
async def account_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    viewer = viewer_of(request)
    sessions = await services.accounts.sessions_of(viewer.id)
    return page(
        request, "account/account.html", sessions=sessions, this_browser=_this_browser(request)
    )


@post("/account/sessions/end-others")
async def end_other_sessions(request: Request[Any, Any, Any], services: ServicesDep) -> Redirect:
    ended = await services.accounts.sign_out_everywhere(
        viewer_of(request).id, keep=_this_browser(request)
    )
    flash(request, f"Signed out everywhere else ({ended} other browser{'s' * (ended != 1)}).")
    return see_other("/account")


account_sessions_router = Router(
    path="/",
    route_handlers=[account_page, end_other_sessions],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
