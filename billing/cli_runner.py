"""Running one async use case from a click command, with billing's errors as one line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import click

from billing.errors import BillingError
from plans import CatalogError

R = TypeVar("R")
T = TypeVar("T")


def run_with(resource: AbstractAsyncContextManager[R], use: Callable[[R], Awaitable[T]]) -> T:
    """Enter ``resource`` (a context, a ledger...), run ``use`` on it, and leave it."""

    async def main() -> T:
        async with resource as entered:
            return await use(entered)

    try:
        return asyncio.run(main())
    except (BillingError, CatalogError) as error:
        raise click.ClickException(str(error)) from None
