"""Reading a Workload out of the engine's container JSON: a listing summary or an inspect.

Both forms must give the same Workload, because the reconciler compares what one listing
says with what an inspect says later. The listing has less: no exit code field, no OOM
flag, no health log. It has them as text in ``Status`` ("Exited (3) 2 seconds ago",
"Up 5 seconds (healthy)"), which is read here so that a listing stays one API call.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner.backends.base import (
    CUSTOMER_LABEL,
    INSTANCE_LABEL,
    REVISION_LABEL,
    Health,
    RunState,
    Workload,
)
from provisioner.backends.engine_terms import Json, engine_time

# `docker stop` through the init process ends the application with SIGTERM (128 + 15);
# an application that handles it exits 0. Anything else means it died on its own.
CLEAN_EXITS = frozenset({0, 143})

_EXIT_CODE = re.compile(r"^Exited \((-?\d+)\)")
_HEALTH_TEXT = {
    "(healthy)": Health.HEALTHY,
    "(unhealthy)": Health.UNHEALTHY,
    "(health: starting)": Health.STARTING,
}


def from_summary(summary: Json) -> Workload:
    """A workload from one entry of ``GET /containers/json``."""
    labels: dict[str, str] = summary.get("Labels") or {}
    status: str = summary.get("Status") or ""
    engine_state: str = summary.get("State") or ""
    match = _EXIT_CODE.match(status)
    exit_code = int(match.group(1)) if match else None
    state, detail = _run_state(engine_state, exit_code, oom_killed=False, error="")
    names: list[str] = summary.get("Names") or []
    return Workload(
        id=summary["Id"],
        name=names[0].lstrip("/") if names else summary["Id"][:12],
        instance_id=labels.get(INSTANCE_LABEL, ""),
        customer_ref=labels.get(CUSTOMER_LABEL, ""),
        revision=_revision(labels),
        image=summary.get("Image", ""),
        state=state,
        health=(health_from_status_text(status) or Health.NONE)
        if state is RunState.RUNNING
        else Health.NONE,
        host_port=_summary_port(summary.get("Ports") or []) if state is RunState.RUNNING else None,
        created_at=engine_time(summary["Created"]),
        detail=detail,
    )


def from_inspect(data: Json) -> Workload:
    """A workload from ``GET /containers/{id}/json``."""
    config: Json = data.get("Config") or {}
    labels: dict[str, str] = config.get("Labels") or {}
    engine: Json = data.get("State") or {}
    exit_code = engine.get("ExitCode") if engine.get("Status") == "exited" else None
    state, detail = _run_state(
        engine.get("Status", ""),
        exit_code,
        oom_killed=bool(engine.get("OOMKilled")),
        error=engine.get("Error") or "",
    )
    health = Health.NONE
    if state is RunState.RUNNING:
        health, probe_output = _health_from_state(engine.get("Health"))
        if health is Health.UNHEALTHY and probe_output:
            detail = f"health check fails: {probe_output}"
    ports: Json = (data.get("NetworkSettings") or {}).get("Ports") or {}
    return Workload(
        id=data["Id"],
        name=str(data.get("Name", "")).lstrip("/"),
        instance_id=labels.get(INSTANCE_LABEL, ""),
        customer_ref=labels.get(CUSTOMER_LABEL, ""),
        revision=_revision(labels),
        image=config.get("Image", ""),
        state=state,
        health=health,
        host_port=_inspect_port(ports) if state is RunState.RUNNING else None,
        created_at=engine_time(data["Created"]),
        detail=detail,
    )


def _run_state(
    engine_state: str, exit_code: int | None, *, oom_killed: bool, error: str
) -> tuple[RunState, str]:
    if engine_state == "running":
        return RunState.RUNNING, ""
    if oom_killed:
        return RunState.FAILED, "killed: out of memory (the plan's memory limit)"
    if error:
        return RunState.FAILED, error
    if engine_state in ("exited", "dead") and exit_code not in CLEAN_EXITS:
        code = "unknown" if exit_code is None else str(exit_code)
        return RunState.FAILED, f"exited with status {code}"
    if engine_state == "restarting":
        return RunState.FAILED, "restarting after a crash"
    # created, paused, removing, or exited cleanly (stopped on request)
    return RunState.STOPPED, "" if exit_code is None else f"exited with status {exit_code}"


def _revision(labels: dict[str, str]) -> int:
    raw = labels.get(REVISION_LABEL, "")
    return int(raw) if raw.isdigit() else 0


def health_from_status_text(status: str) -> Health | None:
    """Health from a listing's ``Status`` ("Up 5 seconds (healthy)"); None: no check."""
    for marker, health in _HEALTH_TEXT.items():
        if marker in status:
            return health
    return None


def _health_from_state(health: Json | None) -> tuple[Health, str]:
    if not health:
        return Health.NONE, ""
    log: list[Json] = health.get("Log") or []
    output = str(log[-1].get("Output", "")).strip() if log else ""
    status: Any = health.get("Status")
    try:
        return Health(status), output
    except ValueError:
        return Health.NONE, output


def _summary_port(ports: list[Json]) -> int | None:
    published = [p for p in ports if p.get("PublicPort") and p.get("Type", "tcp") == "tcp"]
    return int(published[0]["PublicPort"]) if published else None


def _inspect_port(ports: Json) -> int | None:
    for bindings in ports.values():
        for binding in bindings or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
    return None
