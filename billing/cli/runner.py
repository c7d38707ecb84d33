"""Running one async use case from a click command, with billing's errors as one line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

import click
import stripe

from billing.context import BillingContext
from billing.errors import BillingError
from plans import CatalogError

R = TypeVar("R")
T = TypeVar("T")


class ProvidesBilling(Protocol):
    """What ``dockyard`` puts in the click context; billing does not import portal."""

    def billing(self) -> AbstractAsyncContextManager[BillingContext]: ...

    def stripe_client(self) -> stripe.StripeClient: ...


def run_with(resource: AbstractAsyncContextManager[R], use: Callable[[R], Awaitable[T]]) -> T:
    """Enter ``resource`` (a context, a ledger...), run ``use`` on it, and leave it."""

    async def main() -> T:
        async with resource as entered:
            return await use(entered)

    try:
        return asyncio.run(main())
    except (BillingError, CatalogError) as error:
        raise click.ClickException(str(error)) from None
