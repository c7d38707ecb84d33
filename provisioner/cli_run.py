"""Running a provisioner use case from a ``dockyard`` command, errors as messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

import click

from plans import CatalogError
from provisioner.errors import ProvisioningError
from provisioner.service import Provisioner

T = TypeVar("T")


class ProvidesProvisioner(Protocol):
    """What ``dockyard`` puts in the click context; provisioner does not import portal."""

    def provisioner(self) -> AbstractAsyncContextManager[Provisioner]: ...


def run_use_case(ctx: click.Context, use: Callable[[Provisioner], Awaitable[T]]) -> T:
    runtime: ProvidesProvisioner = ctx.find_root().obj

    async def main() -> T:
        async with runtime.provisioner() as provisioner:
            return await use(provisioner)

    try:
        return asyncio.run(main())
    except (ProvisioningError, CatalogError) as error:
        raise click.ClickException(str(error)) from None
