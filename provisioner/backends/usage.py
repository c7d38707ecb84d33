"""Resource usage from one engine stats sample, computed the way ``docker stats`` does."""

from __future__ import annotations

from provisioner.backends.base import Usage
from provisioner.backends.engine_terms import Json


def usage_from_stats(stats: Json) -> Usage:
    """``stats`` is one ``GET /containers/{id}/stats?stream=false`` answer.

    The engine takes two samples a second apart for it, so CPU use is the share of the
    host's CPU time the container used in between, scaled to the CPUs it may use (100 %
    is one whole CPU). A stopped container reports zeros.
    """
    memory: Json = stats.get("memory_stats") or {}
    return Usage(
        cpu_percent=_cpu_percent(stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}),
        memory_bytes=_memory_used(memory),
        memory_limit_bytes=int(memory.get("limit") or 0),
        processes=int((stats.get("pids_stats") or {}).get("current") or 0),
    )


def _cpu_percent(now: Json, before: Json) -> float:
    used = _total(now) - _total(before)
    elapsed = int(now.get("system_cpu_usage") or 0) - int(before.get("system_cpu_usage") or 0)
    if used <= 0 or elapsed <= 0:
        return 0.0
    # online_cpus is missing on old cgroup v1 engines; percpu_usage lists the CPUs there.
    per_cpu = (now.get("cpu_usage") or {}).get("percpu_usage") or [0]
    cpus = int(now.get("online_cpus") or len(per_cpu))
    return round(used / elapsed * cpus * 100.0, 2)


def _total(sample: Json) -> int:
    return int((sample.get("cpu_usage") or {}).get("total_usage") or 0)


def _memory_used(memory: Json) -> int:
    # Page cache the kernel can drop at once is not the application's: cgroup v1 reports
    # it as total_inactive_file, v2 as inactive_file.
    usage = int(memory.get("usage") or 0)
    details: Json = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        inactive = details.get(key)
        if inactive is not None and int(inactive) < usage:
            return usage - int(inactive)
    return usage
