"""``dockyard serve`` and ``dockyard worker``: the long-running processes."""

from __future__ import annotations

import asyncio
import logging

import click
import uvicorn

from portal.app import create_app
from portal.runtime import Runtime
from portal.worker import Worker

interval_option = click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds between worker ticks.",
)


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--with-worker",
    is_flag=True,
    help="Run the background worker and the SSH gateway in this process too (one machine; "
    "what make run does).",
)
@interval_option
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int, with_worker: bool, interval: float) -> None:
    """The web portal: pages, /api/v1, the Stripe webhook, /healthz, /readyz, /metrics."""
    _log_to_stderr()
    app = create_app(
        runtime, worker_interval=interval if with_worker else None, ssh_gateway=with_worker
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


@click.command()
@interval_option
@click.option("--once", is_flag=True, help="One tick, then exit (non-zero if a step failed).")
@click.pass_obj
def worker(runtime: Runtime, interval: float, once: bool) -> None:
    """Webhooks, billing time, dunning, instances, the Stripe outbox, the reconciler."""
    _log_to_stderr()
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
