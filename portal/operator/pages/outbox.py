"""The Stripe outbox for operators: what waits, what retries, what died and why; a dead
message goes back in the queue with one button (after fixing what Stripe refused)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from billing import NotDead, retry_dead
from portal.operator.page_data import outbox_queue
from portal.web.rendering import flash, page, see_other
from portal.web.services import ServicesDep


@get("/ops/outbox")
async def outbox_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    queue = await outbox_queue(services.billing)
    return page(request, "operator/outbox.html", queue=queue)


@post("/ops/outbox/{message_id:int}/retry")
async def retry_message(
    request: Request[Any, Any, Any], services: ServicesDep, message_id: FromPath[int]
) -> Redirect:
    try:
        message = await retry_dead(services.billing, message_id)
    except NotDead as refused:
        flash(request, str(refused), "warn")
    else:
        flash(request, f"Message {message.id} ({message.kind}) is pending again, due now.")
    return see_other("/ops/outbox")
