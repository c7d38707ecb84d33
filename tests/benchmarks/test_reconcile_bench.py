"""Reconciling a month at scale: 10,000 Stripe invoices with 50,000 lines, served as JSON
pages, against reading the same pages without matching (fetch and JSON-decode only).

The pages come from an in-process transport (``httpx.MockTransport`` under a minimal
``stripe.HTTPClient``) serving JSON bytes built once, before timing, with the builders of
tests/fixtures/stripe_double/fake.py (current shapes): no sockets and no respx route matching, so
what the ratio shows is our code (the SDK's objects, the line mapping, the matcher and the
ledger's expected side), not a mock's overhead. The baseline fetches exactly the URLs the
subject fetched, through the same transport.

The month: 5,000 customers on Server S (9.00 EUR a month, on the 1st since October) with
four agreed extra-work items each queued for November. In [Nov 1, Jan 1) (what
``reconcile`` reads for November) each has two invoices of five lines: November's fee with
four October items (another period: read and skipped) and December's fee with the four
November items. November is clean: every line matches. Peak memory is tracemalloc's, in a
separate untimed pass of each row (tracemalloc slows everything down); the page bytes
exist before it starts, so they are not counted.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest
import stripe
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.context import BillingContext
from billing.models import Customer, OutboxMessage, OutboxState, Subscription, SubscriptionState
from billing.outbox import OutboxKind
from billing.periods import Period
from billing.reconcile.result import Reconciliation
from billing.reconcile.run import reconcile_month
from billing.reconcile.stripe.ids import CustomerIndex
from billing.reconcile.stripe.reader import stream_invoices
from tests.benchmarks.harness import Report, Sample
from tests.fixtures.billing import billing_context
from tests.fixtures.clock import MovableClock
from tests.fixtures.stripe_double.fake import (
    SECRET_KEY,
    Json,
    invoice_item_line,
    invoice_with_lines,
    meter,
    subscription_line,
)

pytestmark = pytest.mark.benchmark

CUSTOMERS = 5_000
ITEMS = 4  # per invoice, besides its fee line
INVOICES = 2 * CUSTOMERS
LINES = INVOICES * (1 + ITEMS)
FEE = 900  # Server S v1, a month
ROUNDS = 3

PERIOD = Period(2026, 11)
OCTOBER, NOVEMBER, DECEMBER, JANUARY = (
    int(Period(2026, 10).start.timestamp()),
    int(PERIOD.start.timestamp()),
    int(Period(2026, 12).start.timestamp()),
    int(Period(2027, 1).start.timestamp()),
)
NOW = datetime(2026, 12, 5, tzinfo=UTC)

T = TypeVar("T")


def _customer(n: int) -> str:
    return f"rc{n:05d}"


def _item_amount(n: int, k: int) -> int:
    return 1000 + (n * 7 + k * 13) % 9000


# Stripe's side: the pages, built once.


def _invoices() -> list[Json]:
    """Every invoice of the window, newest first (Stripe's order)."""
    found: list[Json] = []
    for n in range(CUSTOMERS):
        customer = _customer(n)
        sub = f"sub_{customer}"
        for month, start, end, items_at, items_period in (
            ("nov", NOVEMBER, DECEMBER, OCTOBER + 86400 * 20, "2026-10"),
            ("dec", DECEMBER, JANUARY, NOVEMBER + 86400 * 20, "2026-11"),
        ):
            fee = subscription_line(f"il_{customer}_{month}_fee", sub, amount=FEE,
                                    period=(start, end))  # fmt: skip
            items = [
                invoice_item_line(
                    f"il_{customer}_{month}_{k}",
                    amount=_item_amount(n, k),
                    period=(items_at, items_at),
                    entry_id=f"xw-{customer}-{items_period}-{k}",
                    customer_id=customer,
                    dockyard_period=items_period,
                    description="Agreed extra work",
                )
                for k in range(ITEMS)
            ]
            found.append(
                invoice_with_lines(
                    f"in_{customer}_{month}",
                    f"cus_{customer}",
                    sub,
                    [fee, *items],
                    created=start + n,
                )
            )
    return sorted(found, key=lambda invoice: -invoice["created"])


def _list(data: list[Json], url: str, has_more: bool = False) -> bytes:
    return json.dumps({"object": "list", "data": data, "has_more": has_more, "url": url}).encode()


@dataclass
class PageServer:
    """Stripe's list endpoints over precomputed bytes; ``served`` records each URL."""

    invoice_pages: dict[str | None, bytes]  # by ``starting_after``
    other: dict[str, bytes]  # by path
    served: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, invoices: list[Json]) -> PageServer:
        pages: dict[str | None, bytes] = {}
        cursor: str | None = None
        for start in range(0, len(invoices), 100):
            chunk = invoices[start : start + 100]
            pages[cursor] = _list(chunk, "/v1/invoices", start + 100 < len(invoices))
            cursor = chunk[-1]["id"]
        other = {
            "/v1/prices": _list([], "/v1/prices"),  # no metered price: Server S has none
            "/v1/billing/meters": _list([meter("mtr_bench")], "/v1/billing/meters"),
        }
        return cls(pages, other)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.served.append(str(request.url))
        path = request.url.path
        if path == "/v1/invoices":
            query = dict(parse_qsl(request.url.query.decode()))
            assert query["created[gte]"] == str(NOVEMBER)
            assert query["created[lt]"] == str(JANUARY)
            content = self.invoice_pages[query.get("starting_after")]
        else:
            content = self.other[path]
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    @property
    def size(self) -> int:
        return sum(map(len, self.invoice_pages.values()))


class InProcessHTTPClient(stripe.HTTPClient):
    """The SDK's HTTP seam, over an httpx client with an in-process transport."""

    name = "in-process"

    def __init__(self, http: httpx.AsyncClient) -> None:
        super().__init__()
        self.http = http

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        response = await self.http.request(method, url, headers=headers, content=post_data)
        return response.content, response.status_code, response.headers

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(secs)


def _client(http: httpx.AsyncClient) -> stripe.StripeClient:
    return stripe.StripeClient(
        SECRET_KEY,
        base_addresses={"api": "https://stripe.bench"},
        max_network_retries=0,
        http_client=InProcessHTTPClient(http),
    )


# Dockyard's side, inserted in bulk.


async def _populate(engine: AsyncEngine) -> None:
    started = Period(2026, 10).start
    customers, subscriptions, items = [], [], []
    for n in range(CUSTOMERS):
        customer = _customer(n)
        customers.append({"id": customer, "email": f"{customer}@example.test", "name": customer,
                          "company": "", "currency": "EUR", "stripe_customer_id": f"cus_{customer}",
                          "created_at": started})  # fmt: skip
        subscriptions.append(
            {"id": f"s{customer}", "customer_id": customer, "plan_id": "server-s",
             "plan_version": 1, "state": SubscriptionState.ACTIVE.value, "started_at": started,
             "period_start": Period(2026, 12).start, "period_end": Period(2027, 1).start,
             "stripe_subscription_id": f"sub_{customer}", "created_at": started}
        )  # fmt: skip
        for k in range(ITEMS):
            entry = f"xw-{customer}-2026-11-{k}"
            items.append(
                {"kind": OutboxKind.INVOICE_ITEM.value, "idempotency_key": f"invoice_item:{entry}",
                 "payload": {"customer_id": customer, "entry_id": entry, "period": "2026-11",
                             "amount_minor": _item_amount(n, k), "currency": "EUR",
                             "description": "Agreed extra work"},
                 "state": OutboxState.SENT.value, "attempts": 1,
                 "next_attempt_at": NOW - timedelta(days=20), "stripe_id": f"ii_{entry}",
                 "created_at": NOW - timedelta(days=20), "sent_at": NOW - timedelta(days=20)}
            )  # fmt: skip
    async with engine.begin() as connection:
        await connection.execute(insert(Customer), customers)
        await connection.execute(insert(Subscription), subscriptions)
        await connection.execute(insert(OutboxMessage), items)
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE"))


# The rows.

BASELINE = "fetch + json.loads the same pages, no matching"
STREAM = "stream_invoices → ActualInvoice, no matching"


async def _timed(fn: Callable[[], Awaitable[object]]) -> Sample:
    """``ROUNDS`` timed calls; the caller has made one untimed call already (the warm-up,
    traced for its peak memory)."""
    times: list[int] = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        await fn()
        times.append(time.perf_counter_ns() - start)
    return Sample(tuple(times))


async def _traced(fn: Callable[[], Awaitable[T]]) -> tuple[T, str]:
    """``fn()`` and its peak of traced memory, in MiB."""
    tracemalloc.start()
    try:
        result = await fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, f"{peak / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def pages() -> PageServer:
    return PageServer.build(_invoices())


async def _reading_rows(
    client: stripe.StripeClient,
    http: httpx.AsyncClient,
    index: CustomerIndex,
    urls: list[str],
    pages: PageServer,
    report: Report,
) -> None:
    """The rows that do not depend on the database: measured once per session."""

    async def read_pages() -> int:
        decoded = 0
        for url in urls:
            decoded += len(json.loads((await http.get(url)).content)["data"])
        return decoded

    async def read_invoices() -> int:
        stream = stream_invoices(client, PERIOD.start, PERIOD.next().end, customers=index)
        return sum([len(invoice.lines) async for invoice in stream])

    decoded, peak = await _traced(read_pages)
    assert decoded >= INVOICES
    report.add(BASELINE, await _timed(read_pages),
               extra={"invoices": INVOICES, "lines": LINES, "requests": len(urls),
                      "json_mb": round(pages.size / 1e6, 1), "peak_memory": peak,
                      "transport": "httpx.MockTransport in process, prebuilt bytes"})  # fmt: skip
    lines, peak = await _traced(read_invoices)
    assert lines == LINES
    sample = await _timed(read_invoices)
    report.add(STREAM, sample, baseline=BASELINE,
               extra={"invoices_per_s": round(INVOICES / sample.median), "peak_memory": peak,
                      "sdk": "SDK requestor, plain json.loads, no StripeObjects"})  # fmt: skip


async def test_reconcile_a_month_of_invoices(
    engine: AsyncEngine, pages: PageServer, bench_report: Report
) -> None:
    backend = engine.dialect.name
    await _populate(engine)
    ctx: BillingContext = billing_context(engine, MovableClock(NOW))
    pages.served.clear()
    async with httpx.AsyncClient(transport=httpx.MockTransport(pages.handle)) as http:
        client = _client(http)

        async def one_month() -> Reconciliation:
            return await reconcile_month(ctx, client, PERIOD)

        result, peak = await _traced(one_month)
        assert result.invoices_read == INVOICES
        assert result.findings == []  # a clean month
        urls = list(pages.served)
        assert sum("/v1/invoices?" in url for url in urls) == INVOICES // 100
        if BASELINE not in {row.name for row in bench_report}:
            async with ctx.sessions() as session:
                index = await CustomerIndex.load(session)
            await _reading_rows(client, http, index, urls, pages, bench_report)
        sample = await _timed(one_month)
        bench_report.add(
            f"reconcile 2026-11, clean [{backend}]", sample, baseline=BASELINE,
            extra={"invoices_per_s": round(INVOICES / sample.median),
                   "expected_lines": CUSTOMERS * (1 + ITEMS), "peak_memory": peak,
                   "includes": "the ledger's expected side (database), reading Stripe, "
                               "matching; peak traced in the untimed first run"},
        )  # fmt: skip
