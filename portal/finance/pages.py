"""/finance: the month's reconciliation for the finance role (operators may look too).

Stripe is read when the page is asked for a period; the CSV download runs the same
reconciliation (for a large account that is two reads: the command line writes both at
once with ``dockyard reconcile --csv``).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Template

from billing import BillingError, Period, Reconciliation, csv_text, make_client, reconcile_month
from portal.finance.chart import BAR_HEIGHT, LABEL_WIDTH, charts
from portal.web.guards import finance_only
from portal.web.rendering import page
from portal.web.services import Services, ServicesDep, provide_services


def _default_period(services: Services) -> str:
    return str(Period.of(services.billing.clock()).previous())


async def _reconcile(services: Services, period: str, customer: str | None) -> Reconciliation:
    client = make_client(services.billing.stripe)
    return await reconcile_month(services.billing, client, Period.parse(period), customer=customer)


@get("/finance")
async def finance_page(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    period: FromQuery[str | None] = None,
    customer: FromQuery[str | None] = None,
) -> Template:
    chosen = (period or "").strip() or None
    who = (customer or "").strip() or None
    context: dict[str, Any] = {
        "period": chosen or _default_period(services),
        "customer": who or "",
        "stripe_enabled": services.billing.stripe.enabled,
        "result": None,
        "problem": None,
        "charts": [],
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }
    if chosen is not None and services.billing.stripe.enabled:
        try:
            result = await _reconcile(services, chosen, who)
        except BillingError as error:  # a malformed period, Stripe unreachable
            context["problem"] = str(error)
            return page(request, "finance/reconcile.html", status_code=400, **context)
        context.update(result=result, charts=charts(result))
    return page(request, "finance/reconcile.html", **context)


@get("/finance/reconcile.csv")
async def finance_csv(
    services: ServicesDep, period: FromQuery[str], customer: FromQuery[str | None] = None
) -> Response[str]:
    who = (customer or "").strip() or None
    result = await _reconcile(services, period, who)
    name = f"reconcile-{result.period}{'-' + who if who else ''}.csv"
    return Response(
        csv_text(result),
        media_type=MediaType.TEXT,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )


finance_router = Router(
    path="/",
    route_handlers=[finance_page, finance_csv],
    guards=[finance_only],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
