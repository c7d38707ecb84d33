"""The finance page's chart: expected against invoiced per customer, drawn on the server.

Inline SVG like the support-hours chart: no JavaScript; the findings table and the CSV
carry the same figures for screen readers and the accounting system.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing import Reconciliation, Totals
from plans.money import format_minor

CHART_WIDTH = 640
_LABEL_WIDTH = 150
_BAR_SPACE = 360
_BAR_HEIGHT = 12
_ROW_HEIGHT = 40
MOST_CUSTOMERS = 25  # a chart of thousands of rows helps nobody: the largest differences


@dataclass(frozen=True, slots=True)
class Bar:
    y: float
    width: float
    css: str  # bar-expected, bar-invoiced
    title: str


@dataclass(frozen=True, slots=True)
class CustomerRow:
    label: str
    text_y: float
    bars: tuple[Bar, Bar]
    difference: str
    value_x: float


@dataclass(frozen=True, slots=True)
class Chart:
    currency: str
    width: int
    height: int
    rows: tuple[CustomerRow, ...]
    left_out: int  # customers not drawn


def _largest(items: list[tuple[str, Totals]]) -> list[tuple[str, Totals]]:
    return sorted(items, key=lambda item: (-abs(item[1].difference), -item[1].expected, item[0]))


def charts(result: Reconciliation) -> list[Chart]:
    """One chart per currency (amounts in different currencies do not share an axis)."""
    by_currency: dict[str, list[tuple[str, Totals]]] = {}
    for (customer, currency), totals in result.by_customer.items():
        by_currency.setdefault(currency, []).append((customer, totals))
    drawn: list[Chart] = []
    for currency, items in sorted(by_currency.items()):
        shown = _largest(items)[:MOST_CUSTOMERS]
        scale = max((max(t.expected, t.invoiced) for _, t in shown), default=0) or 1
        rows = []
        for index, (customer, totals) in enumerate(shown):
            top = index * _ROW_HEIGHT + 8
            expected_width = _BAR_SPACE * max(totals.expected, 0) / scale
            invoiced_width = _BAR_SPACE * max(totals.invoiced, 0) / scale
            rows.append(
                CustomerRow(
                    label=customer,
                    text_y=top + _BAR_HEIGHT,
                    bars=(
                        Bar(
                            top,
                            expected_width,
                            "bar-expected",
                            f"{customer}: expected {format_minor(totals.expected, currency)}",
                        ),
                        Bar(
                            top + _BAR_HEIGHT + 2,
                            invoiced_width,
                            "bar-invoiced",
                            f"{customer}: invoiced {format_minor(totals.invoiced, currency)}",
                        ),
                    ),
                    difference=(
                        "matches"
                        if totals.difference == 0
                        else f"{'+' if totals.difference > 0 else ''}"
                        f"{format_minor(totals.difference, currency)}"
                    ),
                    value_x=_LABEL_WIDTH + max(expected_width, invoiced_width) + 8,
                )
            )
        drawn.append(
            Chart(
                currency=currency,
                width=CHART_WIDTH,
                height=max(len(rows) * _ROW_HEIGHT + 8, _ROW_HEIGHT),
                rows=tuple(rows),
                left_out=len(items) - len(shown),
            )
        )
    return drawn


LABEL_WIDTH = _LABEL_WIDTH
BAR_HEIGHT = _BAR_HEIGHT
