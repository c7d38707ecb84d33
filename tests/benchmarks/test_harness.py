"""The harness itself: what a Sample reports and how a Report computes ratios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.harness import Report, Sample, measure

pytestmark = pytest.mark.benchmark

MS = 1_000_000  # nanoseconds


def test_measure_calls_warmup_then_rounds() -> None:
    calls: list[int] = []

    sample = measure(lambda: calls.append(1), rounds=5, warmup=2)

    assert (len(calls), sample.rounds) == (7, 5)
    assert all(time >= 0 for time in sample.times_ns)


def test_measure_needs_a_round() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        measure(lambda: None, rounds=0)


def test_sample_statistics_in_seconds() -> None:
    sample = Sample(tuple(ms * MS for ms in range(1, 12)))  # 1..11 ms

    assert sample.median == pytest.approx(0.006)
    assert sample.minimum == pytest.approx(0.001)
    assert sample.maximum == pytest.approx(0.011)
    assert sample.p10 == pytest.approx(0.002)
    assert sample.p90 == pytest.approx(0.010)
    assert Sample((3 * MS,)).p90 == pytest.approx(0.003)


def test_report_ratios_table_and_json(tmp_path: Path) -> None:
    report = Report()
    report.add("base", Sample((10 * MS, 10 * MS)))
    row = report.add("subject", Sample((25 * MS, 25 * MS)), baseline="base", extra={"n": 3})

    assert row.ratio == pytest.approx(2.5)
    assert report.ratio("subject", "base") == pytest.approx(2.5)
    table = report.table()
    assert table[0].split() == [
        "benchmark", "median", "ms", "p10", "ms", "p90", "ms", "rounds", "baseline", "ratio",
    ]  # fmt: skip
    assert table[2].split() == ["subject", "25.00", "25.00", "25.00", "2", "base", "2.50x"]
    assert table[-1] == "  subject: n=3"

    path = tmp_path / "deep" / "results.json"
    report.write_json(path)
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    assert [(r["name"], r["baseline"], r["ratio"]) for r in rows] == [
        ("base", None, None),
        ("subject", "base", 2.5),
    ]


def test_unknown_baseline() -> None:
    with pytest.raises(KeyError, match="nope"):
        Report().add("x", Sample((1,)), baseline="nope")
