"""``GET /proxy/ask?domain=NAME``: the reverse proxy asks before it gets a certificate.

Caddy's on-demand TLS calls this at the first TLS handshake for a name it has no
certificate for, and asks its CA only on a 200
(https://caddyserver.com/docs/automatic-https#on-demand-tls). Dockyard answers 200 for an
instance's own name and for names customers attached to a live instance; anything else
gets 404, so nobody can make the proxy request certificates for arbitrary names.
"""

from __future__ import annotations

from litestar import MediaType, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND

from portal.web.services import ServicesDep, provide_services
from provisioner import may_serve

MAX_NAME = 253


@get("/proxy/ask", cache_control=CacheControlHeader(no_store=True), media_type=MediaType.TEXT)
async def proxy_ask(services: ServicesDep, domain: FromQuery[str] = "") -> Response[str]:
    if not domain or len(domain) > MAX_NAME:
        return Response("ask with ?domain=NAME\n", status_code=HTTP_400_BAD_REQUEST)
    base_domain = services.runtime.settings.provisioner.base_domain
    async with services.sessions() as session:
        allowed = await may_serve(session, domain, base_domain)
    if allowed:
        return Response("ok\n", status_code=HTTP_200_OK)
    return Response("not served here\n", status_code=HTTP_404_NOT_FOUND)


proxy_ask_router = Router(
    path="/",
    route_handlers=[proxy_ask],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
