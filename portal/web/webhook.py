"""Stripe's webhook endpoint: verify over the raw bytes, store once by event id.

The worker handles stored events later (refetching their objects), so this answers fast
and a handler failure never makes Stripe retry a delivery we already hold.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_400_BAD_REQUEST

from billing import WebhookRejected, receive
from portal.web.services import ServicesDep, provide_services


@post("/stripe/webhook", status_code=200)
async def stripe_webhook(
    request: Request[Any, Any, Any], services: ServicesDep
) -> dict[str, object]:
    raw = await request.body()
    try:
        received = await receive(services.billing, raw, request.headers.get("stripe-signature"))
    except WebhookRejected as rejected:
        raise HTTPException(status_code=HTTP_400_BAD_REQUEST, detail=str(rejected)) from None
    return {"received": received.event_id, "duplicate": received.duplicate}


webhook_router = Router(
    path="/",
    route_handlers=[stripe_webhook],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
