"""A small benchmark harness with no dependencies: time a callable, collect rows, report them.

    sample = measure(lambda: load_catalog(path), rounds=15)
    bench_report.add("load_catalog", sample, baseline="yaml parse", extra={"plans": 1000})

Only medians and percentiles are reported; timings are never asserted on.
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Sample:
    """Wall-clock times of the measured rounds, in nanoseconds."""

    times_ns: tuple[int, ...]

    @property
    def rounds(self) -> int:
        return len(self.times_ns)

    @property
    def median(self) -> float:
        """Seconds."""
        return statistics.median(self.times_ns) / 1e9

    @property
    def p10(self) -> float:
        return self._deciles()[0]

    @property
    def p90(self) -> float:
        return self._deciles()[-1]

    @property
    def minimum(self) -> float:
        return min(self.times_ns) / 1e9

    @property
    def maximum(self) -> float:
        return max(self.times_ns) / 1e9

    def _deciles(self) -> list[float]:
        if self.rounds == 1:
            return [self.times_ns[0] / 1e9]
        cuts = statistics.quantiles(self.times_ns, n=10, method="inclusive")
        return [cut / 1e9 for cut in cuts]


def measure(fn: Callable[[], object], *, rounds: int, warmup: int = 1) -> Sample:
    """Call ``fn`` ``warmup`` times untimed, then ``rounds`` times with ``perf_counter_ns``."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    for _ in range(warmup):
        fn()
    gc.collect()  # start from a clean heap; collection during the rounds still counts
    times: list[int] = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return Sample(tuple(times))


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    sample: Sample
    baseline: str | None = None
    ratio: float | None = None  # subject median / baseline median
    extra: Mapping[str, object] = field(default_factory=dict)


class Report:
    """Rows added by the benchmarks of one session, in the order they ran."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no benchmark row named {name!r}")

    def ratio(self, subject: str, baseline: str) -> float:
        return self.row(subject).sample.median / self.row(baseline).sample.median

    def add(
        self,
        name: str,
        sample: Sample,
        *,
        baseline: str | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> Row:
        """Record ``sample``; with ``baseline`` (a row added earlier), also its ratio to it."""
        ratio = sample.median / self.row(baseline).sample.median if baseline else None
        row = Row(name, sample, baseline, ratio, dict(extra or {}))
        self.rows.append(row)
        return row

    def table(self) -> list[str]:
        header = ("benchmark", "median ms", "p10 ms", "p90 ms", "rounds", "baseline", "ratio")
        cells = [header] + [
            (
                row.name,
                f"{row.sample.median * 1e3:.2f}",
                f"{row.sample.p10 * 1e3:.2f}",
                f"{row.sample.p90 * 1e3:.2f}",
                str(row.sample.rounds),
                row.baseline or "-",
                f"{row.ratio:.2f}x" if row.ratio is not None else "-",
            )
            for row in self.rows
        ]
        widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
        lines = []
        for line in cells:
            padded = [
                text.ljust(width) if column in (0, 5) else text.rjust(width)
                for column, (text, width) in enumerate(zip(line, widths, strict=True))
            ]
            lines.append("  ".join(padded).rstrip())
        for row in self.rows:
            if row.extra:
                details = ", ".join(f"{key}={value}" for key, value in row.extra.items())
                lines.append(f"  {row.name}: {details}")
        return lines

    def as_json(self) -> dict[str, object]:
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "rows": [
                {
                    "name": row.name,
                    "median_s": row.sample.median,
                    "p10_s": row.sample.p10,
                    "p90_s": row.sample.p90,
                    "min_s": row.sample.minimum,
                    "max_s": row.sample.maximum,
                    "rounds": row.sample.rounds,
                    "baseline": row.baseline,
                    "ratio": row.ratio,
                    "extra": dict(row.extra),
                }
                for row in self.rows
            ],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2, default=str) + "\n", encoding="utf-8")
