"""GETs from Stripe for reconciliation: the JSON as sent, retried with backoff, paged.

``client.raw_request_async`` keeps what matters of the SDK (the key, the pinned API
version, parameter encoding, Stripe's errors as ``stripe.StripeError``s) and skips what
costs: turning every nested dict into a ``StripeObject``. Parameters are still built as
the SDK's ``TypedDict``s, so mypy checks their names.

Transient failures are what ``billing.stripe.client.classify`` says: a refused connection,
a timeout, a rate limit, Stripe's 5xx (our clients run with the SDK's own retries off).
A refusal (4xx) is raised at once: asking again gets the same answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
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
    response = await client.raw_request_async("get", url, **params)
    data: Json = response.data
    return data


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


async def every_item(
    client: stripe.StripeClient, url: str, params: Mapping[str, Any], retry: Retry
) -> AsyncIterator[Json]:
    """Every item of a Stripe list, one page in memory at a time, each page retried."""
    query = dict(params)
    while True:
        page = await with_retry(lambda: get_json(client, url, query), retry)
        data: list[Json] = page["data"]
        for item in data:
            yield item
        if not page.get("has_more") or not data:
            return
        query["starting_after"] = data[-1]["id"]
