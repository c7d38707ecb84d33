"""Sessions, sign-in, CSRF, rate limiting and security headers, from what litestar provides.

- Sessions are litestar's encrypted cookie sessions (AES-GCM): nothing to store server
  side, so several web processes share them. The session holds the user id and role only.
- ``SessionAuth`` loads the user on every route not listed as public, and answers 401
  (the error handler turns that into the sign-in page) otherwise.
- CSRF is litestar's double-submit cookie; every form carries ``csrf_input``. Stripe's
  webhook (signed) and the API (bearer tokens, no cookies) are exempt.
- Sign-in attempts are rate-limited per client address by litestar's RateLimitConfig.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.security.session_auth import SessionAuth
from litestar.types import Message, Scope, ScopeSession

from portal.accounts.passwords import password_version
from portal.accounts.session_store import read_here
from portal.settings import WebSettings
from portal.web.services import services_of
from portal.web.viewer import Viewer

SESSION_COOKIE = "dockyard_session"
CSRF_COOKIE = "dockyard_csrf"

# Reachable without signing in. Everything else needs a session (the API its own token).
PUBLIC_PATHS = [
    r"^/$",
    r"^/plans(/|$)",
    r"^/signin$",
    r"^/signup$",
    r"^/password/",
    r"^/static/",
    r"^/healthz$",
    r"^/readyz$",
    r"^/proxy/ask$",
    r"^/metrics$",
    r"^/stripe/webhook$",
    r"^/api/",
    r"^/favicon.ico$",
]
CSRF_EXEMPT = [r"^/stripe/webhook$", r"^/api/"]


def secret_bytes(settings: WebSettings) -> bytes:
    """32 bytes for AES-GCM, from the configured secret or (development) var/secret.key."""
    secret = settings.secret_key or _development_secret(settings.secret_file)
    return hashlib.sha256(secret.encode()).digest()


def _development_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


async def retrieve_viewer(
    session: dict[str, Any], connection: ASGIConnection[Any, Any, Any, Any]
) -> Viewer | None:
    user_id = session.get("uid")
    if not isinstance(user_id, str):
        return None
    read = read_here()
    if read is not None and read.user_id == user_id:
        user = read.user  # read with the session's row at the start of this request
    else:
        user = await services_of(connection.app.state).accounts.get(user_id)
    if user is None or session.get("pv") != password_version(user.password_hash):
        return None  # gone, or signed in with a password that has since been replaced
    return Viewer.of(user)


SESSION_LIFETIME = 60 * 60 * 24 * 14  # seconds
FRESH = "_fresh"  # set by a sign-in: the session gets a new id (RotatingSessionBackend)


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id changes when one signs in: an id planted in a
    browser before (session fixation) never names a signed-in session."""

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if isinstance(scope_session, dict) and scope_session.pop(FRESH, None):
            old = connection.cookies.get(self.config.key)
            if old:
                await self.delete(
                    old, store=self.config.get_store_from_app(connection.scope["app"])
                )
            connection.state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.state.get(_NEW_ID)
        return fresh if isinstance(fresh, str) else super().get_session_id(connection)


_NEW_ID = "dockyard_new_session_id"


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_auth(settings: WebSettings) -> SessionAuth[Viewer, ServerSideSessionBackend]:
    """Sessions in the database (portal.accounts.session_store, registered as the app's
    ``sessions`` store): the cookie holds a random id, and ending a session is real."""
    return SessionAuth[Viewer, ServerSideSessionBackend](
        retrieve_user_handler=retrieve_viewer,
        session_backend_config=SessionConfig(
            key=SESSION_COOKIE,
            max_age=SESSION_LIFETIME,
            httponly=True,
            secure=not settings.development,
            samesite="lax",
            store="sessions",
        ),
        exclude=PUBLIC_PATHS,
    )


def csrf_config(settings: WebSettings) -> CSRFConfig:
    return CSRFConfig(
        secret=secret_bytes(settings).hex(),
        cookie_name=CSRF_COOKIE,
        cookie_secure=not settings.development,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=CSRF_EXEMPT,
    )


def _is_sign_in(request: Any) -> bool:
    """Sign-ins and reset requests: per client, both are limited (the reset mails also
    per address: portal.accounts.service)."""
    return bool(request.method == "POST" and request.url.path in ("/signin", "/password/forgot"))


def sign_in_rate_limit(settings: WebSettings) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", settings.signin_attempts_per_minute),
        check_throttle_handler=_is_sign_in,
        set_rate_limit_headers=True,
    )


def security_headers(
    settings: WebSettings, checkout_origin: str = "https://checkout.stripe.com"
) -> list[ResponseHeader]:
    policy = "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            "style-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            # Checkout is a redirect after a form post: browsers check it against this.
            f"form-action 'self' {checkout_origin}",
        ]
    )
    headers = [
        ResponseHeader(name="Content-Security-Policy", value=policy),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="Permissions-Policy", value="camera=(), microphone=(), geolocation=()"),
        ResponseHeader(name="Cross-Origin-Opener-Policy", value="same-origin"),
    ]
    if not settings.development:
        headers.append(ResponseHeader(name="Strict-Transport-Security", value="max-age=31536000"))
    return headers


def every_response_gets(
    headers: list[ResponseHeader],
) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook adding ``headers`` to every HTTP response, error pages and
    404s for unknown paths included (route-level headers never reach those); a header a
    handler set itself is kept."""
    raw = [(h.name.lower().encode("latin-1"), (h.value or "").encode("latin-1")) for h in headers]

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        present = [(bytes(name), bytes(value)) for name, value in message.get("headers", [])]
        names = {name.lower() for name, _ in present}
        message["headers"] = present + [pair for pair in raw if pair[0] not in names]

    return add


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """A NUL character in the path or the query names nothing here (no id, no name holds
    one), and PostgreSQL refuses it in text (a 500 from a search or an id): 404 here."""
    if "\x00" in request.url.path or any("\x00" in v for v in request.query_params.values()):
        raise NotFoundException("a NUL character in the address: nothing here has one")


async def allow_lists_every_method(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: an ``OPTIONS`` answer's ``Allow`` names every method of the
    path. litestar builds its OPTIONS answer from the first handler registered on a path
    (``POST /api/v1/rollouts`` answered ``Allow: OPTIONS, POST``, its GET left out)."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = scope.get("path_template")
    app = scope.get("app")
    if not isinstance(template, str) or app is None:
        return
    methods: set[str] = set()
    for route in app.routes:
        # The template is written without parameter types ({id}), a route's path with ({id:str}).
        if template in (route.path, getattr(route, "path_format", None)):
            methods |= set(getattr(route, "methods", ()))
    if not methods:
        return
    kept = [(n, v) for n, v in message.get("headers", []) if bytes(n).lower() != b"allow"]
    message["headers"] = [*kept, (b"allow", ", ".join(sorted(methods)).encode())]
