"""How long loading a large catalog takes, against parsing the same YAML with PyYAML alone.

A provider with 1,000 plan versions in 10 files is far beyond the sample; the figures say
what reading *and validating* costs on top of parsing. Nothing here asserts a timing.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from plans import Catalog, PlanKind, load_catalog
from tests.benchmarks.harness import Report, measure

pytestmark = pytest.mark.benchmark

PLANS = 1_000
FILES = 10
ROUNDS = 15

# The C parser when PyYAML was built with libyaml; the pure-Python one otherwise.
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

HEADER = """\
# Generated for the catalog benchmark.
x-app-{file}: &app-{file}
  image: dockyard-demo
  version: "1.4.2"
  port: 8080
  health_check_path: /healthz
  volumes:
    - {{name: data, path: /data}}
    - {{name: uploads, path: /srv/uploads}}
x-monthly-{file}: &monthly-{file}
  currency: EUR
  interval: month

plans:
"""
COMMON = """\
  - id: {id}
    kind: {kind}
    version: {version}
    name: {name}
    description: >-
      Generated plan {id} for the benchmark, written the way an operator would,
      with a folded description that spans two lines.
    features: ["Feature one of {id}", "Feature two", "Feature three"]
{extra}"""
MIGRATE = "    migrate_existing_from: 2027-01-01\n    available: {from: 2026-12-01}\n"
BODIES = {
    "server": """\
    server: {{image: dockyard-server, version: "2"}}
    resources: {{cpus: {cpus}, memory_mb: {memory}, disk_gb: {disk}, max_processes: 512}}
    pricing:
      <<: *monthly-{file}
      amount: "{amount}.00"
      setup_fee: "15.00"
""",
    "application": """\
    application:
      <<: *app-{file}
      environment: {{DOCKYARD_TIER: tier{index}, DOCKYARD_WORKERS: "4"}}
    resources: {{cpus: 0.5, memory_mb: 256, disk_gb: 10}}
    maintenance:
      days: [wed, sun]
      start: "03:00"
      duration_minutes: 90
      timezone: Europe/Berlin
    pricing:
      <<: *monthly-{file}
      amount: "{amount}.50"
      trial_months: 1
      commitment: {{months: 6, early_cancellation: pay_remaining}}
""",
    "flat_rate": """\
    support: {{model: flat_rate, extra_work_rate: "95.00"}}
    coverage: {{scopes: [end_user, usage], hours: always}}
    pricing:
      <<: *monthly-{file}
      amount: "{amount}.00"
      commitment: {{months: 12, early_cancellation: end_of_term}}
""",
    "hour_bank": """\
    support:
      model: hour_bank
      included_hours: 20
      unused: rollover
      rollover: {{max_hours: 10, months: 3}}
      overage_rate: "80.00"
      increment_minutes: 15
    coverage: {{scopes: [usage, operations], hours: business_hours}}
    pricing:
      currency: EUR
      amount_minor: {amount}00
      interval: year
      commitment: {{months: 12, early_cancellation: fee, early_cancellation_fee: "1400.00"}}
""",
    "per_hour": """\
    support:
      model: per_hour
      hourly_rate: "95.00"
      increment_minutes: 15
      minimum_minutes: 30
      monthly_cap_hours: 10
    coverage: {{scopes: [usage, operations], hours: business_hours}}
    pricing: {{currency: EUR, amount: "0.00", interval: month}}
""",
    "developer": """\
    service: {{category: developer_service, billing: per_hour, increment_minutes: 15}}
    pricing: {{currency: EUR, amount: "{amount}.00", interval: hour}}
""",
    "training": """\
    service: {{category: training, billing: package, package_hours: 4}}
    pricing: {{currency: EUR, amount: "{amount}.00", interval: once}}
""",
}
KINDS = {
    "server": "server_hosting",
    "application": "application_hosting",
    "flat_rate": "support",
    "hour_bank": "support",
    "per_hour": "support",
    "developer": "service",
    "training": "service",
}


def _plan(product: int, version: int, file: int) -> str:
    shape = list(BODIES)[product % len(BODIES)]
    body = BODIES[shape].format(
        file=file,
        index=product,
        cpus=1 + product % 4,
        memory=1024 * (1 + product % 8),
        disk=20 + product % 300,
        amount=9 + product % 500 + version,
    )
    plan_id = f"{shape.replace('_', '-')}-{product:04d}"
    head = COMMON.format(
        id=plan_id,
        kind=KINDS[shape],
        version=version,
        name=f"Plan {product} v{version}",
        extra=MIGRATE if version > 1 else "",
    )
    return head + body


def write_catalog(directory: Path, *, plans: int, files: int) -> list[Path]:
    """``plans`` plan versions of every kind over ``files`` files; every 5th plan has 2 versions."""
    per_file = plans // files
    paths = []
    product = 0
    for file in range(files):
        entries: list[str] = []
        while len(entries) < per_file:
            entries.append(_plan(product, 1, file))
            if product % 5 == 4 and len(entries) < per_file:
                entries.append(_plan(product, 2, file))
            product += 1
        path = directory / f"catalog-{file:02d}.yaml"
        path.write_text(HEADER.format(file=file) + "\n".join(entries), encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("large-catalog")
    write_catalog(directory, plans=PLANS, files=FILES)
    return directory


def _fast_load(text: str) -> object:
    return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader


def _peak_mib(fn: Callable[[], object]) -> float:
    """Peak traced allocation of one untimed call (tracemalloc slows it, so never timed)."""
    tracemalloc.start()
    try:
        fn()
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def test_load_large_catalog_against_plain_yaml_parsing(
    catalog_dir: Path, bench_report: Report
) -> None:
    paths = sorted(catalog_dir.glob("*.yaml"))
    size = sum(path.stat().st_size for path in paths)

    def parse_fast() -> list[object]:
        return [_fast_load(path.read_text(encoding="utf-8")) for path in paths]

    def parse_pure() -> list[object]:
        return [yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths]

    def load() -> Catalog:
        return load_catalog(catalog_dir)

    catalog = load()
    assert len(catalog) == PLANS
    assert {plan.kind for plan in catalog} == set(PlanKind)
    assert sum(len(doc["plans"]) for doc in parse_fast() if isinstance(doc, dict)) == PLANS

    fast = f"yaml.load {FAST_LOADER.__name__} (parse only)"
    pure = "yaml.safe_load SafeLoader (parse only)"
    subject = "load_catalog (read + validate)"
    inputs = {"files": len(paths), "plans": PLANS, "kib": round(size / 1024)}
    bench_report.add(
        fast,
        measure(parse_fast, rounds=ROUNDS),
        extra={**inputs, "loader": FAST_LOADER.__name__, "peak_mib": _peak_mib(parse_fast)},
    )
    bench_report.add(
        pure,
        measure(parse_pure, rounds=ROUNDS),
        baseline=fast,
        extra={"loader": "SafeLoader", "peak_mib": _peak_mib(parse_pure)},
    )
    sample = measure(load, rounds=ROUNDS)
    bench_report.add(
        subject,
        sample,
        baseline=fast,
        extra={
            "ratio_vs_safe_load": round(sample.median / bench_report.row(pure).sample.median, 2),
            "peak_mib": _peak_mib(load),
        },
    )
