"""The web application: ``create_app(runtime)`` wires routes to services explicitly.

For now it receives Stripe's webhooks and answers health checks; the customer and
operator pages build on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_400_BAD_REQUEST

from billing.context import BillingContext
from billing.webhooks import WebhookRejected, receive
from portal.runtime import Runtime


def create_app(runtime: Runtime) -> Litestar:
    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        async with runtime.database() as sessions:
            app.state.billing = runtime.billing_context(sessions)
            yield

    return Litestar(
        route_handlers=[healthz, stripe_webhook],
        lifespan=[database],
        debug=False,
    )


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@post("/stripe/webhook", status_code=200)
async def stripe_webhook(
    request: Request[object, object, State], state: State
) -> dict[str, object]:
    """Verify over the raw bytes, store once by event id; the worker handles it later."""
    billing: BillingContext = state.billing
    raw = await request.body()
    try:
        received = await receive(billing, raw, request.headers.get("stripe-signature"))
    except WebhookRejected as rejected:
        raise HTTPException(status_code=HTTP_400_BAD_REQUEST, detail=str(rejected)) from None
    return {"received": received.event_id, "duplicate": received.duplicate}
