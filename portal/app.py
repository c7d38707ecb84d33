"""The web application: ``create_app(runtime)`` wires routes, security and services.

Everything a handler uses is built in the lifespan from the runtime and kept on
``app.state.services``. With ``worker_interval`` the background worker runs in the same
process (``dockyard serve --with-worker``, what ``make run`` starts), and with
``ssh_gateway`` the SSH gateway into servers (portal.ssh) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from portal import log_lines
from portal.accounts.pages import account_router
from portal.accounts.service import Accounts
from portal.accounts.session_pages import account_sessions_router
from portal.accounts.session_store import DatabaseSessionStore
from portal.customer.pages.dashboard import customer_router
from portal.customer.pages.public import public_router
from portal.finance.pages import finance_router
from portal.mail import make_mailer
from portal.operator.api.auth import declare_bearer_scheme
from portal.operator.api.routes import api_router, declare_closed_bodies
from portal.operator.pages.overview import operator_router
from portal.operator.rollout_state import keep_rollouts
from portal.runtime import Runtime
from portal.ssh.pages import ssh_keys_router
from portal.ssh.running import gateway_beside
from portal.web.errors import exception_handlers
from portal.web.health import health_router
from portal.web.metrics import MetricsPlugin
from portal.web.proxy_ask import proxy_ask_router
from portal.web.security import (
    SESSION_LIFETIME,
    allow_lists_every_method,
    csrf_config,
    every_response_gets,
    refuse_nul,
    security_headers,
    session_auth,
    sign_in_rate_limit,
)
from portal.web.services import Services
from portal.web.templating import template_config
from portal.web.webhook import webhook_router
from portal.worker import Worker

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    runtime: Runtime, worker_interval: float | None = None, *, ssh_gateway: bool = False
) -> Litestar:
    settings = runtime.settings
    log_lines.install()
    web_sessions = DatabaseSessionStore(runtime.clock, SESSION_LIFETIME)

    @asynccontextmanager
    async def services(app: Litestar) -> AsyncIterator[None]:
        async with runtime.database() as sessions:
            web_sessions.factory = sessions
            billing = runtime.billing_context(sessions)
            mailer = make_mailer(settings.mail)
            app.state.services = Services(
                runtime=runtime,
                sessions=sessions,
                billing=billing,
                accounts=Accounts(sessions, billing, mailer, settings.web.base_url),
                mailer=mailer,
            )
            stop = asyncio.Event()
            task: asyncio.Task[None] | None = None
            if worker_interval is not None:
                task = asyncio.create_task(Worker(runtime).run_on(sessions, worker_interval, stop))
            fleet = app.state.services.provisioner
            try:
                async with gateway_beside(runtime, sessions, fleet, enabled=ssh_gateway):
                    yield
            finally:
                stop.set()
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait_for(task, timeout=30)

    auth = session_auth(settings.web)
    handlers: list[Any] = [
        public_router,
        account_router,
        account_sessions_router,
        customer_router,
        ssh_keys_router,
        operator_router,
        finance_router,
        api_router,
        health_router,
        webhook_router,
        proxy_ask_router,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ]
    return Litestar(
        route_handlers=handlers,
        lifespan=[services],
        on_startup=[declare_closed_bodies],
        stores={"sessions": web_sessions},
        on_app_init=[auth.on_app_init, declare_bearer_scheme, keep_rollouts],
        plugins=[MetricsPlugin()],
        csrf_config=csrf_config(settings.web),
        middleware=[sign_in_rate_limit(settings.web).middleware],
        template_config=template_config(),
        # On every response, error pages too: once, here.
        before_request=refuse_nul,
        before_send=[
            every_response_gets(security_headers(settings.web, settings.stripe.checkout_origin)),
            allow_lists_every_method,
        ],
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(
            title="Dockyard operator API",
            version="1",
            path="/api/v1/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        debug=False,
    )
