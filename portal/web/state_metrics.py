"""Dockyard's state as Prometheus gauges, read from the database at scrape time.

Counting at scrape time (a handful of GROUP BY queries) keeps the numbers true whichever
process changed the rows: the CLI, a worker elsewhere, another web process. Every known
state is reported, with 0 when no row has it, so an alert on a state works before the
first row gets there.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from billing import OutboxState, SubscriptionState, billing_counts
from portal.web.readiness import DATABASE_TIMEOUT_SECONDS, outbox_lag_seconds
from portal.web.services import Services
from provisioner import InstanceState, instance_counts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    instances: dict[str, int]
    subscriptions: dict[str, int]
    outbox: dict[str, int]
    outbox_oldest_due_seconds: float
    webhooks_unhandled: int
    webhooks_failing: int
    customers: int


async def read_snapshot(services: Services) -> Snapshot | None:
    """The counts now, or None (logged) when the database does not answer in time."""

    async def read() -> Snapshot:
        async with services.sessions() as session:
            billing = await billing_counts(session)
            return Snapshot(
                instances=await instance_counts(session),
                subscriptions=billing.subscriptions,
                outbox=billing.outbox,
                outbox_oldest_due_seconds=await outbox_lag_seconds(
                    session, services.runtime.clock()
                ),
                webhooks_unhandled=billing.webhooks_unhandled,
                webhooks_failing=billing.webhooks_failing,
                customers=billing.customers,
            )

    try:
        return await asyncio.wait_for(read(), timeout=DATABASE_TIMEOUT_SECONDS)
    except Exception:  # the scrape still answers, with dockyard_database_up 0
        log.warning("metrics: could not read Dockyard's state", exc_info=True)
        return None


def state_metrics(snapshot: Snapshot | None) -> Iterator[Metric]:
    """The snapshot as gauges; without one (the database did not answer) only that."""
    yield GaugeMetricFamily(
        "dockyard_database_up",
        "1 when the database answered this scrape's queries, else 0",
        value=0 if snapshot is None else 1,
    )
    if snapshot is None:
        return
    yield _by_state("dockyard_instances", "Instances by state", snapshot.instances, InstanceState)
    yield _by_state(
        "dockyard_subscriptions",
        "Subscriptions by state",
        snapshot.subscriptions,
        SubscriptionState,
    )
    yield _by_state(
        "dockyard_outbox_messages", "Stripe outbox messages by state", snapshot.outbox, OutboxState
    )
    yield GaugeMetricFamily(
        "dockyard_outbox_oldest_due_age_seconds",
        "Age of the oldest pending or retrying outbox message that is due (0: none)",
        value=snapshot.outbox_oldest_due_seconds,
    )
    yield GaugeMetricFamily(
        "dockyard_webhook_events_unhandled",
        "Stripe webhook events stored but not handled yet",
        value=snapshot.webhooks_unhandled,
    )
    yield GaugeMetricFamily(
        "dockyard_webhook_events_failing",
        "Unhandled Stripe webhook events whose last handling attempt failed",
        value=snapshot.webhooks_failing,
    )
    yield GaugeMetricFamily("dockyard_customers", "Customers", value=snapshot.customers)


def _by_state(
    name: str, documentation: str, counts: Mapping[str, int], states: type[enum.StrEnum]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["state"])
    every = {state.value: 0 for state in states} | dict(counts)
    for state, count in sorted(every.items()):
        family.add_metric([state], count)
    return family
