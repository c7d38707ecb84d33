"""Benchmarks add rows to one session-wide report, printed and saved when the run ends."""

from __future__ import annotations

import pytest

from tests.benchmarks.harness import Report

RESULTS = ("var", "bench", "results.json")
_REPORT = pytest.StashKey[Report]()


@pytest.fixture(scope="session")
def bench_report(request: pytest.FixtureRequest) -> Report:
    stash = request.config.stash
    if _REPORT not in stash:
        stash[_REPORT] = Report()
    return stash[_REPORT]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    report = config.stash.get(_REPORT, None)
    if report is None or not report.rows:
        return
    terminalreporter.write_sep("=", "benchmarks")
    for line in report.table():
        terminalreporter.write_line(line)
    path = config.rootpath.joinpath(*RESULTS)
    report.write_json(path)
    terminalreporter.write_line(f"results written to {path}")
