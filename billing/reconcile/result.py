"""What a reconciliation yields: per-line comparisons, findings and totals."""

from __future__ import annotations

from dataclasses import dataclass

from billing.reconcile.findings import Finding
from billing.reconcile.lines import LineKind


@dataclass(frozen=True, slots=True)
class Standing:
    """What the ledger says about a subscription now (for the paid-but-suspended check)."""

    customer_id: str
    state: str
    suspension_reason: str | None


@dataclass
class Totals:
    expected: int = 0
    invoiced: int = 0
    paid: int = 0
    credited: int = 0

    @property
    def difference(self) -> int:
        return self.invoiced - self.expected


@dataclass(frozen=True, slots=True)
class LineComparison:
    """One line key of the period, both sides summed: what the CSV export lists."""

    key: str
    customer_id: str | None
    kind: LineKind
    description: str
    currency: str
    expected: int
    invoiced: int
    expected_quantity: int
    invoiced_quantity: int
    invoices: tuple[str, ...]
    status: str  # "ok" or the FindingKind that explains the difference


@dataclass
class Reconciliation:
    period: str
    customer: str | None
    findings: list[Finding]
    totals: dict[str, Totals]  # by currency
    by_customer: dict[tuple[str, str], Totals]  # (customer id, currency)
    lines: list[LineComparison]
    invoices_read: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings
