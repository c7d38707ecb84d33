"""Issue 11: an operator's suspend reason was written raw into the log, so a newline in it
forged a log line."""

from __future__ import annotations

import logging

import pytest

from portal import log_lines


def test_a_newline_in_a_logged_value_cannot_start_a_new_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_lines.install()
    reason = "late payment\n2026-12-07 10:00:00 INFO subscription s1 resumed by admin"
    with caplog.at_level(logging.INFO):
        logging.getLogger("portal.operator.actions").info("suspended: %s", reason)

    [record] = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage().endswith(
        "late payment\\n2026-12-07 10:00:00 INFO subscription s1 resumed by admin"
    )
    assert len(caplog.text.strip().splitlines()) == 1
