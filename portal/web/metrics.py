"""``/metrics`` in Prometheus' text format, added to the app by ``MetricsPlugin``.

- HTTP requests (count, duration, in progress, 5xx errors; by method, route template and
  status) are recorded by litestar's PrometheusMiddleware, changed to keep its metrics
  in a registry of this app's own: litestar's keeps them in a class attribute on
  prometheus_client's global registry, so apps built side by side (the tests build one
  per test) would share counts.
- The process (CPU, memory, open files) from prometheus_client's ProcessCollector.
- Dockyard's state, read from the database at each scrape (portal.web.state_metrics).

The route is public like the probes; in production keep it behind the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from litestar import Request, Router, get
from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.plugins import InitPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.response import Response
from litestar.types import ASGIApp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

from portal.web.services import ServicesDep, provide_services
from portal.web.state_metrics import Snapshot, read_snapshot, state_metrics

HTTP_PREFIX = "dockyard_http"

Labels = dict[str, str | int | float]
M = TypeVar("M", bound=MetricWrapperBase)


@dataclass
class AppPrometheusConfig(PrometheusConfig):
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # One metric object per name for the whole app: litestar builds a middleware per route.
    families: dict[str, MetricWrapperBase] = field(default_factory=dict)


class AppPrometheusMiddleware(PrometheusMiddleware):
    def __init__(self, app: ASGIApp, config: AppPrometheusConfig) -> None:
        super().__init__(app, config)
        self._app_config = config

    def _family(
        self, kind: type[M], suffix: str, help_text: str, labels: Labels, **extra: Any
    ) -> M:
        config = self._app_config
        name = f"{config.prefix}_{suffix}"
        if name not in config.families:
            config.families[name] = kind(
                name, help_text, labelnames=list(labels), registry=config.registry, **extra
            )
        return cast(M, config.families[name])

    def request_count(self, labels: Labels) -> Counter:
        return self._family(Counter, "requests_total", "Total requests", labels)

    def request_time(self, labels: Labels) -> Histogram:
        return self._family(
            Histogram,
            "request_duration_seconds",
            "Request duration, in seconds",
            labels,
            **self._kwargs,
        )

    def requests_in_progress(self, labels: Labels) -> Gauge:
        return self._family(Gauge, "requests_in_progress", "Requests currently in progress", labels)

    def requests_error_count(self, labels: Labels) -> Counter:
        return self._family(
            Counter, "requests_error_total", "Requests answered with a 5xx status", labels
        )


class MetricsPlugin(InitPlugin):
    """Instruments every route and adds ``GET /metrics``; one per app (its own registry)."""

    def __init__(self) -> None:
        self.config = AppPrometheusConfig(
            app_name="dockyard",
            prefix=HTTP_PREFIX,
            group_path=True,  # /ops/instances/{instance_id:str}, not one series per instance
            middleware_class=AppPrometheusMiddleware,
        )
        ProcessCollector(registry=self.config.registry)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # Outermost, so it times every answer, sign-in redirects and CSRF refusals included.
        app_config.middleware.insert(0, self.config.middleware)
        app_config.route_handlers.append(self._router())
        return app_config

    def _router(self) -> Router:
        registry = self.config.registry

        @get("/metrics", cache_control=CacheControlHeader(no_store=True))
        async def metrics(
            request: Request[Any, Any, Any], services: ServicesDep
        ) -> Response[bytes]:
            # The text format Prometheus asks for (OpenMetrics or the classic one).
            encode, content_type = choose_encoder(request.headers.get("accept", ""))
            scrape = _Scrape(registry, await read_snapshot(services))
            return Response(encode(scrape), headers={"Content-Type": content_type})

        return Router(
            path="/",
            route_handlers=[metrics],
            dependencies={"services": Provide(provide_services)},
            include_in_schema=False,
        )


@dataclass(frozen=True, slots=True)
class _Scrape:
    """What one scrape shows: the app's registry, then Dockyard's state."""

    registry: CollectorRegistry
    snapshot: Snapshot | None

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        yield from state_metrics(self.snapshot)
