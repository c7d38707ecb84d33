"""What Stripe's support-minutes meter counted per customer over a period.

``GET /v1/billing/meters/{id}/event_summaries`` without ``value_grouping_window`` sums the
customer's meter events over the whole range in one summary; the range is the period's
first instant to the next period's (UTC epoch seconds, minute-aligned as Stripe requires).
One request per customer, so the caller names the customers with metered plans (``only``).
"""

from __future__ import annotations

from collections.abc import Collection

import stripe
from stripe.params.billing import MeterEventSummaryListParams, MeterListParams

from billing.errors import StripeFailure
from billing.periods import Period
from billing.reconcile.lines import MeterSummary
from billing.reconcile.stripe.ids import CustomerIndex
from billing.reconcile.stripe.retry import DEFAULT_RETRY, Retry, every_item, path
from billing.stripe.catalog import METER_EVENT_NAME

__all__ = ["find_meter_id", "meter_summaries"]


async def find_meter_id(client: stripe.StripeClient, retry: Retry = DEFAULT_RETRY) -> str | None:
    """The active support-minutes meter (``dockyard plans sync`` creates it), if any."""
    params: MeterListParams = {"limit": 100, "status": "active"}
    async for meter in every_item(client, "/v1/billing/meters", params, retry):
        if meter.get("event_name") == METER_EVENT_NAME:
            return str(meter["id"])
    return None


async def meter_summaries(
    client: stripe.StripeClient,
    meter_id: str,
    customers: CustomerIndex,
    period: Period,
    *,
    only: Collection[str] | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> list[MeterSummary]:
    """One summary per customer with a Stripe id (of ``only``, when given), by customer id;
    a customer the meter counted nothing for has 0 minutes."""
    start, end = int(period.start.timestamp()), int(period.end.timestamp())
    url = path("/v1/billing/meters/{}/event_summaries", meter_id)
    summaries: list[MeterSummary] = []
    for customer_id, stripe_customer in sorted(customers.stripe_customers.items()):
        if only is not None and customer_id not in only:
            continue
        params: MeterEventSummaryListParams = {
            "customer": stripe_customer, "start_time": start, "end_time": end, "limit": 100,
        }  # fmt: skip
        total = 0.0
        try:
            async for summary in every_item(client, url, params, retry):
                total += float(summary["aggregated_value"])
        except StripeFailure as failure:
            raise StripeFailure(
                f"reading meter {meter_id} for customer {customer_id} ({stripe_customer}), "
                f"{period}: {failure}",
                permanent=failure.permanent,
            ) from failure
        summaries.append(MeterSummary(customer_id, str(period), round(total)))
    return summaries
