"""``dockyard serve`` and ``dockyard worker``: the long-running processes."""

from __future__ import annotations

import asyncio
import logging

import click
import uvicorn

from portal.app import create_app
from portal.runtime import Runtime
from portal.worker import Worker


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int) -> None:
    """The web application (webhooks, health checks)."""
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")


@click.command()
@click.option("--interval", default=5.0, show_default=True, help="Seconds between ticks.")
@click.option("--once", is_flag=True, help="One tick, then exit (non-zero if a step failed).")
@click.pass_obj
def worker(runtime: Runtime, interval: float, once: bool) -> None:
    """Webhooks, billing time, dunning, instances, the Stripe outbox, the reconciler."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    runner = Worker(runtime)
    if once:
        report = asyncio.run(runner.tick())
        click.echo(str(report))
        if report.failed:
            raise click.exceptions.Exit(1)
        return
    try:
        asyncio.run(runner.run(interval))
    except KeyboardInterrupt:
        click.echo("worker stopped")
