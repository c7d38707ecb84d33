"""Blocks of the hosting plans: resources, server image, application, maintenance window."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plans import reader as r
from plans.model import (
    Application,
    Image,
    MaintenanceWindow,
    Resources,
    Server,
    Volume,
    Weekday,
)

IMAGE_NAME = r"[a-z0-9]+(?:[._/-][a-z0-9]+)*"
IMAGE_VERSION = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
VOLUME_NAME = r"[a-z0-9][a-z0-9_-]{0,62}"
RESOURCE_KEYS = ("cpus", "memory_mb", "disk_gb", "max_processes")
IMAGE_KEYS = ("image", "version")
APPLICATION_KEYS = (*IMAGE_KEYS, "port", "health_check_path", "environment", "volumes")
MAINTENANCE_KEYS = ("days", "start", "duration_minutes", "timezone")


def parse_resources(where: r.Field) -> Resources | None:
    section = r.Section(where, RESOURCE_KEYS)
    cpu = section.require("cpus", r.scaled("CPUs", 1000, 10, 64_000, "thousandths of a CPU"))
    memory = section.require("memory_mb", r.integer(16, 1_048_576))
    disk = section.require("disk_gb", r.integer(1, 65_536))
    processes = section.optional("max_processes", r.integer(16, 65_536), 256)
    if cpu is None or memory is None or disk is None or processes is None:
        return None
    return Resources(cpu, memory, disk, processes)


def parse_image(section: r.Section) -> Image | None:
    name = section.require("image", r.text(IMAGE_NAME, "an image name such as dockyard-demo"))
    version = section.require(
        "version", r.text(IMAGE_VERSION, 'an image tag such as "1" or "2.3.1"')
    )
    if name is None or version is None:
        return None
    return Image(name, version)


def parse_server(where: r.Field) -> Server | None:
    section = r.Section(where, (*IMAGE_KEYS, "port"))
    image = parse_image(section)
    port = section.optional("port", r.integer(1, 65_535), 22)
    if image is None or port is None:
        return None
    return Server(image, port)


def parse_application(where: r.Field) -> Application | None:
    section = r.Section(where, APPLICATION_KEYS)
    image = parse_image(section)
    port = section.require("port", r.integer(1, 65_535), "the port the application listens on")
    health = section.optional(
        "health_check_path", r.text(r"/\S*", "a path starting with / such as /healthz"), "/"
    )
    no_environment: tuple[tuple[str, str], ...] = ()
    no_volumes: tuple[Volume, ...] = ()
    environment = section.optional("environment", _environment, no_environment)
    volumes = section.optional("volumes", r.sequence(_volume), no_volumes)
    if image is None or port is None or health is None or environment is None or volumes is None:
        return None
    paths = [volume.path for volume in volumes]
    if len(set(paths)) != len(paths):
        duplicated = section.field("volumes")
        assert duplicated is not None
        duplicated.fail("two volumes are mounted at the same path")
        return None
    return Application(image, port, health, environment, volumes)


def _environment(where: r.Field) -> tuple[tuple[str, str], ...] | None:
    node = where.node
    if not isinstance(node, r.Mapping):
        where.fail("expected a mapping of NAME: value")
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in node.entries:
        child = where.child(value, key.text)
        name = r.text(ENV_NAME, "an environment variable name")(where.child(key, key.text))
        setting = r.text(description="a value (quote numbers and booleans)")(child)
        if name is not None and setting is not None:
            pairs.append((name, setting))
    return tuple(pairs) if len(pairs) == len(node.entries) else None


def _volume(where: r.Field) -> Volume | None:
    section = r.Section(where, ("name", "path"))
    name = section.require("name", r.text(VOLUME_NAME, "a lower-case volume name"))
    path = section.require("path", r.text(r"/[^\s:]*", "an absolute path such as /data"))
    if name is None or path is None:
        return None
    return Volume(name, path)


def parse_maintenance(where: r.Field) -> MaintenanceWindow | None:
    section = r.Section(where, MAINTENANCE_KEYS)
    days = section.require("days", r.sequence(r.choice(Weekday), min_items=1))
    start = section.require("start", r.clock_time, 'when the window opens, e.g. "02:00"')
    duration = section.require("duration_minutes", r.integer(15, 24 * 60))
    zone = section.optional("timezone", _timezone, "UTC")
    if days is None or start is None or duration is None or zone is None:
        return None
    return MaintenanceWindow(tuple(sorted(set(days))), start, duration, zone)


def _timezone(where: r.Field) -> str | None:
    name = r.text(description="an IANA time zone such as Europe/Berlin")(where)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        where.fail(f"unknown time zone {name!r}; expected an IANA name such as Europe/Berlin")
        return None
    return name
