"""/metrics: HTTP request metrics in a registry per app, and Dockyard's state from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from billing.customers import Customers
from billing.models import OutboxState, SubscriptionState
from billing.outbox import OutboxKind
from billing.repository.outbox import OutboxRepository
from billing.repository.webhooks import WebhookRepository
from billing.subscriptions.lifecycle import Subscriptions
from portal.app import create_app
from portal.runtime import Runtime
from provisioner.models import InstanceState
from tests.fixtures.billing import outbox_row
from tests.fixtures.outages import database_gone
from tests.fixtures.portal import Portal

pytestmark = pytest.mark.docker

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Series:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: TestClient) -> Series:  # type: ignore[type-arg]
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


def value(series: Series, name: str, **labels: str) -> float:
    return series[(name, frozenset(labels.items()))]


def by_state(series: Series, name: str) -> dict[str, float]:
    return {
        dict(labels)["state"]: count for (metric, labels), count in series.items() if metric == name
    }


def requests(series: Series, path: str, status: str = "200") -> float:
    labels = {"app_name": "dockyard", "method": "GET", "path": path, "status_code": status}
    return series.get(("dockyard_http_requests_total", frozenset(labels.items())), 0.0)


def test_a_fresh_portal_reports_every_state_at_zero(portal: Portal) -> None:
    series = scrape(portal.client)

    assert value(series, "dockyard_database_up") == 1
    assert by_state(series, "dockyard_instances") == {state.value: 0 for state in InstanceState}
    assert by_state(series, "dockyard_subscriptions") == {
        state.value: 0 for state in SubscriptionState
    }
    assert by_state(series, "dockyard_outbox_messages") == {state.value: 0 for state in OutboxState}
    for name in (
        "dockyard_outbox_oldest_due_age_seconds",
        "dockyard_webhook_events_unhandled",
        "dockyard_webhook_events_failing",
        "dockyard_customers",
    ):
        assert value(series, name) == 0, name


def test_a_scrape_counts_what_is_in_the_database(portal: Portal) -> None:
    billing = portal.services.billing
    ann = portal.run(Customers(billing).create, "ann@example.com", "Ann")
    bob = portal.run(Customers(billing).create, "bob@example.com", "Bob")

    async def subscribe() -> None:
        subscriptions = Subscriptions(billing)
        await subscriptions.subscribe(ann.id, "app-starter", stripe_checkout=False)
        support = await subscriptions.subscribe(bob.id, "support-payg", stripe_checkout=False)
        await subscriptions.cancel(support.id, immediately=True)

    portal.run(subscribe)
    assert portal.tick().failed == {}  # provisions Ann's instance
    before = by_state(scrape(portal.client), "dockyard_outbox_messages")

    async def outbox_and_webhooks() -> None:
        now = portal.clock()
        async with portal.services.sessions() as session, session.begin():
            # Due for two hours.
            await outbox_row(
                session,
                kind=OutboxKind.METER_EVENT,
                payload={},
                key="old",
                now=now - timedelta(hours=2),
            )
            # Older still, but sitting out a retry backoff: not due, so not lag.
            waiting = await outbox_row(
                session,
                kind=OutboxKind.METER_EVENT,
                payload={},
                key="waiting",
                now=now - timedelta(hours=3),
            )
            waiting.state = OutboxState.RETRYING.value
            waiting.next_attempt_at = now + timedelta(minutes=5)
            dead = await outbox_row(
                session, kind=OutboxKind.METER_EVENT, payload={}, key="dead", now=now
            )
            dead.state = OutboxState.DEAD.value
            events = WebhookRepository(session)
            for event_id in ("evt_new", "evt_failing", "evt_done"):
                events.add(event_id, "invoice.paid", {}, now)
            await session.flush()
            await events.failed("evt_failing", "RuntimeError: Stripe said no")
            await events.finish("evt_done", now)
            assert await OutboxRepository(session).oldest_due(now) == now - timedelta(hours=2)

    portal.run(outbox_and_webhooks)
    series = scrape(portal.client)

    assert value(series, "dockyard_customers") == 2
    subscriptions = by_state(series, "dockyard_subscriptions")
    assert subscriptions["trialing"] == 1  # app-starter has a trial month
    assert subscriptions["cancelled"] == 1
    assert sum(subscriptions.values()) == 2
    instances = by_state(series, "dockyard_instances")
    assert instances["provisioning"] + instances["running"] == 1
    assert sum(instances.values()) == 1
    outbox = by_state(series, "dockyard_outbox_messages")
    assert outbox["pending"] == before["pending"] + 1
    assert outbox["retrying"] == before["retrying"] + 1
    assert outbox["dead"] == before["dead"] + 1
    assert value(series, "dockyard_outbox_oldest_due_age_seconds") == 2 * 3600
    assert value(series, "dockyard_webhook_events_unhandled") == 2
    assert value(series, "dockyard_webhook_events_failing") == 1


def test_requests_are_counted_by_route_and_status(portal: Portal) -> None:
    portal.get("/healthz")
    portal.get("/healthz")
    portal.get("/readyz")

    series = scrape(portal.client)

    assert requests(series, "/healthz") == 2
    assert requests(series, "/readyz") == 1
    labels = {"app_name": "dockyard", "method": "GET", "path": "/healthz", "status_code": "200"}
    assert value(series, "dockyard_http_request_duration_seconds_count", **labels) == 2


def test_each_app_counts_its_own_requests(portal: Portal) -> None:
    portal.get("/healthz")
    with TestClient(create_app(Runtime(portal.settings, clock=portal.clock))) as other:
        other.get("/readyz")
        theirs = scrape(other)
    ours = scrape(portal.client)

    assert requests(ours, "/healthz") == 1
    assert requests(ours, "/readyz") == 0
    assert requests(theirs, "/healthz") == 0
    assert requests(theirs, "/readyz") == 1


def test_without_the_database_a_scrape_still_answers(portal: Portal) -> None:
    portal.get("/healthz")
    with database_gone(portal):
        series = scrape(portal.client)

    assert value(series, "dockyard_database_up") == 0
    assert requests(series, "/healthz") == 1
    assert by_state(series, "dockyard_instances") == {}


def test_openmetrics_is_served_to_who_asks_for_it(portal: Portal) -> None:
    answer = portal.client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")
    assert "dockyard_customers 0.0" in answer.text
