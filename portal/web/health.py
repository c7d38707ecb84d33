"""Probes for whatever runs the portal (an orchestrator, a load balancer, a monitor).

- ``/healthz``, liveness: 200 while the process serves requests. It checks nothing else,
  so a database or engine outage never gets a healthy process restarted.
- ``/readyz``, readiness: 200 when the database and the engine answer and the Stripe
  outbox keeps up, else 503 naming each failed check and why (portal.web.readiness).

``/metrics`` (Prometheus) lives in portal.web.metrics.
"""

from __future__ import annotations

from litestar import MediaType, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from portal.web.readiness import check_readiness
from portal.web.services import ServicesDep, provide_services

# A probe's answer is about this moment: no cache may keep it.
NO_STORE = CacheControlHeader(no_store=True)


@get("/healthz", sync_to_thread=False, cache_control=NO_STORE)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", cache_control=NO_STORE)
async def readyz(services: ServicesDep) -> Response[dict[str, object]]:
    readiness = await check_readiness(services)
    return Response(
        readiness.as_json(),
        status_code=HTTP_200_OK if readiness.ready else HTTP_503_SERVICE_UNAVAILABLE,
        media_type=MediaType.JSON,
    )


health_router = Router(
    path="/",
    route_handlers=[healthz, readyz],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
