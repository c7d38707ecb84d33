"""Support hours of a period in figures and as a bar chart drawn on the server.

The chart is inline SVG (no JavaScript, no images to fetch); the same figures are shown
as a table beside it, which is what screen readers and text browsers get.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing import PeriodSummary
from plans.model import HourBank, PerHour, ServiceTerms, SupportTerms
from portal.web.templating import hours

CHART_WIDTH = 600
_LABEL_WIDTH = 110
_BAR_SPACE = 300  # the widest bar; the rest of the width holds its value
_ROW_HEIGHT = 22
_ROW_GAP = 12


@dataclass(frozen=True, slots=True)
class HoursFigures:
    """One period's support time, in minutes."""

    period: str
    model: str  # hour_bank, per_hour, flat_rate, service_per_hour, service_package
    included: int | None  # per period; None: no bank of hours (unlimited, or by the hour)
    rolled_over: int
    used: int
    remaining: int | None  # of the included and rolled-over hours, or below the cap
    over: int  # beyond the bank (billed as overage)
    pending: int  # over the cap, waiting for the customer's approval
    cap: int | None  # per-hour plans: more than this needs approval

    @property
    def available(self) -> int | None:
        return None if self.included is None else self.included + self.rolled_over


def figures(
    summary: PeriodSummary, terms: SupportTerms | ServiceTerms, cap: int | None
) -> HoursFigures:
    used = summary.used_minutes
    if isinstance(terms, HourBank):
        included: int | None = summary.included_minutes or 0
        available = (included or 0) + summary.rolled_in_minutes
        remaining: int | None = max(available - used, 0)
    elif isinstance(terms, PerHour):
        included, remaining = None, max((cap or 0) - used, 0)
    else:
        included, remaining = None, None
    return HoursFigures(
        period=str(summary.period),
        model=summary.model,
        included=included,
        rolled_over=summary.rolled_in_minutes,
        used=used,
        remaining=remaining,
        over=summary.overage_minutes if isinstance(terms, HourBank) else 0,
        pending=summary.pending_minutes,
        cap=cap if isinstance(terms, PerHour) else None,
    )


@dataclass(frozen=True, slots=True)
class Segment:
    x: float
    width: float
    css: str  # bar-included, bar-rolled, bar-used, bar-over, bar-pending
    title: str  # shown on hover; the table says the same


@dataclass(frozen=True, slots=True)
class ChartRow:
    label: str
    y: float
    segments: tuple[Segment, ...]
    value: str  # written after the bar

    @property
    def text_y(self) -> float:
        return self.y + _ROW_HEIGHT * 0.7

    @property
    def value_x(self) -> float:
        end = max((s.x + s.width for s in self.segments), default=float(_LABEL_WIDTH))
        return end + 6


@dataclass(frozen=True, slots=True)
class Chart:
    rows: tuple[ChartRow, ...]
    width: int
    height: int
    bar_height: int = _ROW_HEIGHT


def chart(hours_of: HoursFigures) -> Chart:
    """Two bars on one scale: what the period offers, and what was used (and waits)."""
    offer: list[tuple[int, str, str]] = []
    if hours_of.included is not None:
        offer.append((hours_of.included, "bar-included", "included"))
        offer.append((hours_of.rolled_over, "bar-rolled", "rolled over"))
    elif hours_of.cap is not None:
        offer.append((hours_of.cap, "bar-included", "monthly cap"))
    use = [
        (hours_of.used - hours_of.over, "bar-used", "used"),
        (hours_of.over, "bar-over", "over the included hours"),
        (hours_of.pending, "bar-pending", "waiting for your approval"),
    ]
    scale = max(sum(m for m, _, _ in offer), sum(m for m, _, _ in use), 1)
    rows: list[ChartRow] = []
    if offer:
        label = "Monthly cap" if hours_of.included is None else "Available"
        rows.append(_row(label, 0, offer, scale, hours(sum(m for m, _, _ in offer))))
    used = hours(hours_of.used)
    if hours_of.pending:
        used += f" + {hours(hours_of.pending)} waiting"
    rows.append(_row("Used", len(rows), use, scale, used))
    return Chart(tuple(rows), CHART_WIDTH, len(rows) * (_ROW_HEIGHT + _ROW_GAP))


def _row(
    label: str, index: int, parts: list[tuple[int, str, str]], scale: int, value: str
) -> ChartRow:
    x = float(_LABEL_WIDTH)
    segments = []
    for minutes, css, what in parts:
        if minutes <= 0:
            continue
        width = _BAR_SPACE * minutes / scale
        segments.append(Segment(round(x, 2), round(width, 2), css, f"{hours(minutes)} {what}"))
        x += width
    return ChartRow(label, index * (_ROW_HEIGHT + _ROW_GAP), tuple(segments), value)
