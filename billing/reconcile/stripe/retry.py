"""GETs from Stripe for reconciliation: the JSON as sent, retried with backoff, paged.

Requests go through the SDK's requestor, the one ``client.raw_request_async`` uses: it
keeps what matters of the SDK (the key, the pinned API version, parameter encoding, its
HTTP client, Stripe's errors as ``stripe.StripeError``s) and skips what costs. Not
``StripeObject``s, and not ``raw_request_async``'s own decoding either: it decodes every
body into ``OrderedDict``s, which took as long again as the plain ``json.loads`` done
here (tests/benchmarks/test_reconcile_bench.py). An error response is handed to the SDK,
which raises it as ``raw_request_async`` would. Parameters are still built as the SDK's
``TypedDict``s, so mypy checks their names.

Transient failures are what ``billing.stripe.client.classify`` says: a refused connection,
a timeout, a rate limit, Stripe's 5xx (our clients run with the SDK's own retries off).
A refusal (4xx) is raised at once: asking again gets the same answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import quote

import stripe

from billing.stripe.client import classify

T = TypeVar("T")
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int = 4  # tries of one request, the first included
    base_delay: float = 0.5  # seconds before the second try; doubling after
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def delay(self, failures: int) -> float:
        return float(min(self.base_delay * 2 ** (failures - 1), self.max_delay))


DEFAULT_RETRY = Retry()


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` an id, escaped for a URL path."""
    return template.format(*(quote(value, safe="") for value in ids))


async def get_json(client: stripe.StripeClient, url: str, params: Mapping[str, Any]) -> Json:
    requestor = client._requestor  # what raw_request_async calls; no public way to the body
    body, code, headers = await requestor.request_raw_async(
        "get", url, params, {}, base_address="api", api_mode="V1", usage=["raw_request"]
    )
    if 200 <= code < 300:
        try:
            data: Json = json.loads(cast(bytes, body))
            return data
        except ValueError:
            pass  # the SDK's APIError for a body that is not JSON, below
    requestor._interpret_response(body, code, headers, "V1")  # raises Stripe's error
    raise stripe.APIError(f"unexpected response from Stripe (HTTP {code})")


async def with_retry(request: Callable[[], Awaitable[T]], retry: Retry) -> T:
    """``request()``, tried again while it fails transiently; raises the last failure as
    a :class:`billing.errors.StripeFailure`."""
    failures = 0
    while True:
        try:
            return await request()
        except stripe.StripeError as error:
            failure = classify(error)
            failures += 1
            if failure.permanent or failures >= retry.attempts:
                raise failure from error
            await retry.sleep(retry.delay(failures))


async def every_page(
    client: stripe.StripeClient, url: str, params: Mapping[str, Any], retry: Retry
) -> AsyncIterator[list[Json]]:
    """The items of a Stripe list, a page at a time (one in memory), each page retried."""
    query = dict(params)
    while True:
        page = await with_retry(lambda: get_json(client, url, query), retry)
        data: list[Json] = page["data"]
        if data:
            yield data
        if not page.get("has_more") or not data:
            return
        query["starting_after"] = data[-1]["id"]


async def every_item(
    client: stripe.StripeClient, url: str, params: Mapping[str, Any], retry: Retry
) -> AsyncIterator[Json]:
    """Every item of a Stripe list, one page in memory at a time, each page retried."""
    async for data in every_page(client, url, params, retry):
        for item in data:
            yield item
