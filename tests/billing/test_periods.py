from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from billing.errors import BillingError, InvalidPeriod
from billing.periods import Period, periods_between


def test_of_takes_the_utc_month() -> None:
    # 00:30 on 1 December in Berlin is still November in UTC.
    berlin = timezone(timedelta(hours=1))
    assert Period.of(datetime(2026, 12, 1, 0, 30, tzinfo=berlin)) == Period(2026, 11)
    assert Period.of(datetime(2026, 12, 1, tzinfo=UTC)) == Period(2026, 12)


def test_of_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Period.of(datetime(2026, 12, 1))  # noqa: DTZ001


def test_parse_and_str_round_trip() -> None:
    assert Period.parse("2026-03") == Period(2026, 3)
    assert str(Period(2026, 3)) == "2026-03"
    assert Period.parse(" 2027-12 ") == Period(2027, 12)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "", "soon"])
def test_parse_explains_the_format(text: str) -> None:
    with pytest.raises(InvalidPeriod, match="YYYY-MM") as raised:
        Period.parse(text)
    assert isinstance(raised.value, BillingError)


def test_start_and_end_bound_the_month() -> None:
    feb = Period(2028, 2)  # a leap year
    assert feb.start == datetime(2028, 2, 1, tzinfo=UTC)
    assert feb.end == datetime(2028, 3, 1, tzinfo=UTC)
    assert feb.end - feb.start == timedelta(days=29)
    assert feb.end - timedelta(microseconds=1) in feb
    assert feb.end not in feb


def test_next_and_previous_cross_years() -> None:
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period(2027, 1).previous() == Period(2026, 12)
    assert Period(2026, 11).shift(14) == Period(2028, 1)
    assert Period(2026, 1) < Period(2026, 2) < Period(2027, 1)


def test_periods_between_is_inclusive() -> None:
    assert periods_between(Period(2026, 11), Period(2027, 2)) == [
        Period(2026, 11),
        Period(2026, 12),
        Period(2027, 1),
        Period(2027, 2),
    ]
    assert periods_between(Period(2027, 2), Period(2026, 11)) == []
