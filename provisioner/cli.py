"""``dockyard instances``: operators run the fleet from a terminal."""

from __future__ import annotations

import click

from provisioner.backups.cli import BACKUP_COMMANDS
from provisioner.cli_run import run_use_case as _run
from provisioner.models import Instance, SuspensionReason
from provisioner.reconciler import PassReport
from provisioner.replacement import UpdateOutcome
from provisioner.rollout import FleetReport


def _line(instance: Instance) -> str:
    suspended = f" suspended:{instance.suspension_reason}" if instance.suspension_reason else ""
    port = f" 127.0.0.1:{instance.host_port}" if instance.host_port else ""
    return (
        f"{instance.id}  {instance.customer_ref:<16} {instance.plan_id}@{instance.plan_version:<3}"
        f" {instance.image}:{instance.image_version:<8} {instance.state:<12}"
        f" health:{instance.health}{port}{suspended}"
    )


@click.group("instances")
def instances_group() -> None:
    """Customers' applications and servers."""


@instances_group.command("list")
@click.option("--customer", help="Only this customer's instances.")
@click.option("--plan", "plan_id", help="Only instances of this plan.")
@click.pass_context
def list_instances(ctx: click.Context, customer: str | None, plan_id: str | None) -> None:
    instances = _run(ctx, lambda p: p.find(customer_ref=customer, plan_id=plan_id))
    for instance in instances:
        click.echo(_line(instance))
    if not instances:
        click.echo("no instances")


@instances_group.command()
@click.argument("customer")
@click.argument("plan_id")
@click.option("--version", "plan_version", type=int, help="Plan version (default: newest).")
@click.pass_context
def provision(ctx: click.Context, customer: str, plan_id: str, plan_version: int | None) -> None:
    """Start a new instance of PLAN_ID for CUSTOMER."""
    instance = _run(ctx, lambda p: p.provision(customer, plan_id, plan_version, actor="cli"))
    click.echo(_line(instance))
    if instance.reason:
        click.echo(f"reason: {instance.reason}")


@instances_group.command()
@click.argument("instance_id")
@click.pass_context
def show(ctx: click.Context, instance_id: str) -> None:
    view = _run(ctx, lambda p: p.view(instance_id))
    instance = view.instance
    click.echo(_line(instance))
    rows = [
        ("address", view.address or "-"),
        ("desired", instance.desired_state),
        ("reason", instance.reason or "-"),
        ("update", f"{instance.update_status or '-'} {instance.update_detail or ''}".strip()),
        ("previous", instance.previous_image_version or "-"),
        (
            "limits",
            f"{instance.cpu_millis / 1000:g} CPU, {instance.memory_mb} MB, "
            f"{instance.max_processes} processes, {instance.disk_gb} GB disk",
        ),
        ("revision", str(instance.revision)),
    ]
    for label, value in rows:
        click.echo(f"  {label:<9} {value}")
    click.echo("events:")
    for event in view.events:
        click.echo(
            f"  {event.at:%Y-%m-%d %H:%M:%S} {event.kind:<16} {event.message} ({event.actor})"
        )


@instances_group.command()
@click.argument("instance_id")
@click.option("--reason", type=click.Choice([r.value for r in SuspensionReason]), default="manual")
@click.option("--note", default="", help="Why, for the customer and other operators.")
@click.pass_context
def suspend(ctx: click.Context, instance_id: str, reason: str, note: str) -> None:
    instance = _run(
        ctx, lambda p: p.suspend(instance_id, SuspensionReason(reason), note, actor="cli")
    )
    click.echo(_line(instance))


@instances_group.command()
@click.argument("instance_id")
@click.option("--reason", type=click.Choice([r.value for r in SuspensionReason]), default="manual")
@click.pass_context
def resume(ctx: click.Context, instance_id: str, reason: str) -> None:
    instance = _run(ctx, lambda p: p.resume(instance_id, SuspensionReason(reason), actor="cli"))
    click.echo(_line(instance))


@instances_group.command()
@click.argument("target")
@click.option("--version", "image_version", help="Application version (default: the plan's).")
@click.option("--plan", "by_plan", is_flag=True, help="TARGET is a plan: update its instances.")
@click.option("--parallel", default=1, show_default=True, help="Instances at a time.")
@click.option("--ignore-window", is_flag=True, help="Do not wait for maintenance windows.")
@click.pass_context
def update(
    ctx: click.Context,
    target: str,
    image_version: str | None,
    by_plan: bool,
    parallel: int,
    ignore_window: bool,
) -> None:
    """Roll an instance (or with --plan, a plan's fleet) to an application version."""
    if by_plan:
        report = _run(
            ctx,
            lambda p: p.update_plan(
                target,
                image_version,
                max_parallel=parallel,
                respect_window=not ignore_window,
                actor="cli",
            ),
        )
        _print_fleet(report)
        if report.failed:
            raise click.exceptions.Exit(1)
        return
    outcome = _run(ctx, lambda p: p.update(target, image_version, actor="cli"))
    _print_outcome(outcome)


@instances_group.command("change-plan")
@click.argument("instance_id")
@click.argument("plan_id")
@click.option("--version", "plan_version", type=int)
@click.pass_context
def change_plan(
    ctx: click.Context, instance_id: str, plan_id: str, plan_version: int | None
) -> None:
    """Move an instance to another hosting plan (new limits)."""
    outcome = _run(ctx, lambda p: p.change_plan(instance_id, plan_id, plan_version, actor="cli"))
    _print_outcome(outcome)


@instances_group.command()
@click.argument("instance_id")
@click.pass_context
def restart(ctx: click.Context, instance_id: str) -> None:
    click.echo(_line(_run(ctx, lambda p: p.restart(instance_id, actor="cli"))))


@instances_group.command()
@click.argument("instance_id")
@click.confirmation_option(prompt="Terminate this instance? Its data is kept until purged.")
@click.pass_context
def terminate(ctx: click.Context, instance_id: str) -> None:
    click.echo(_line(_run(ctx, lambda p: p.terminate(instance_id, actor="cli"))))


@instances_group.command()
@click.argument("instance_id")
@click.option("--tail", default=100, show_default=True)
@click.pass_context
def logs(ctx: click.Context, instance_id: str, tail: int) -> None:
    click.echo(_run(ctx, lambda p: p.logs(instance_id, tail)), nl=False)


@instances_group.command()
@click.pass_context
def reconcile(ctx: click.Context) -> None:
    """One reconciler pass: make the engine match the database."""
    report = _run(ctx, lambda p: p.reconciler.run_pass())
    _print_pass(report)
    if report.failed:
        raise click.exceptions.Exit(1)


def _print_outcome(outcome: UpdateOutcome) -> None:
    click.echo(f"{outcome.instance_id}: {outcome.status or 'deferred'}: {outcome.detail}")
    if outcome.status == "failed":
        raise click.exceptions.Exit(1)


def _print_fleet(report: FleetReport) -> None:
    click.echo(f"updated: {', '.join(report.updated) or '-'}")
    click.echo(f"outside maintenance window: {', '.join(report.outside_window) or '-'}")
    click.echo(f"already current: {', '.join(report.unchanged) or '-'}")
    for failed in report.failed:
        click.echo(f"FAILED {failed.instance_id}: {failed.detail}")


def _print_pass(report: PassReport) -> None:
    if report.engine_error:
        raise click.ClickException(f"no pass: {report.engine_error}")
    actions = ", ".join(f"{name} {count}" for name, count in sorted(report.actions.items()))
    click.echo(f"{report.instances} instances: {actions or 'nothing to do'}")
    if report.busy or report.waiting:
        click.echo(f"skipped: {report.busy} busy elsewhere, {report.waiting} waiting to retry")
    for orphan in report.orphans:
        removed = " (removed)" if orphan in report.orphans_removed else ""
        click.echo(f"orphan: {orphan}{removed}")
    for instance_id in report.failed:
        click.echo(f"failed: {instance_id}")


for _command in BACKUP_COMMANDS:  # they live with their domain, in provisioner.backups
    instances_group.add_command(_command)
