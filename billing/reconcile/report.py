"""A reconciliation as finance reads it: a terminal summary, CSV for the accounting
system, JSON for scripts. Amounts are shown in major units with the currency, and kept in
minor units in CSV and JSON (exact, no floats)."""

from __future__ import annotations

import csv
import io
from typing import Any

from billing.reconcile.findings import Finding
from billing.reconcile.result import Reconciliation
from plans.money import format_minor

CSV_COLUMNS = (
    "period",
    "customer_id",
    "key",
    "kind",
    "description",
    "currency",
    "expected_minor",
    "invoiced_minor",
    "difference_minor",
    "expected_quantity",
    "invoiced_quantity",
    "invoices",
    "status",
    "action",
)


def _money(minor: int | None, currency: str) -> str:
    if minor is None:
        return "-"
    return format_minor(minor, currency) if currency else str(minor)


def _amount(finding: Finding, value: int | None) -> str:
    if value is None:
        return "-"
    if finding.kind.value.startswith("usage_"):
        return f"{value} min"
    if finding.kind.value == "quantity_mismatch":
        return f"{value} units"
    return _money(value, finding.currency)


def summary_lines(result: Reconciliation) -> list[str]:
    scope = f" for customer {result.customer}" if result.customer else ""
    lines = [f"Reconciliation of {result.period}{scope}: {result.invoices_read} invoices read"]
    for currency, totals in result.totals.items():
        lines.append(
            f"  {currency}: expected {_money(totals.expected, currency)}, "
            f"invoiced {_money(totals.invoiced, currency)}, "
            f"paid {_money(totals.paid, currency)}, "
            f"credited {_money(totals.credited, currency)}, "
            f"difference {_money(totals.difference, currency)}"
        )
    if result.clean:
        lines.append("Everything matches.")
        return lines
    lines.append(f"{len(result.findings)} finding(s):")
    for finding in result.findings:
        lines.append(
            f"- {finding.kind.value} · customer {finding.customer_id or 'unknown'} · "
            f"expected {_amount(finding, finding.expected)}, "
            f"actual {_amount(finding, finding.actual)}"
        )
        lines.append(f"    {finding.detail}")
        lines.append(f"    objects: {', '.join(finding.objects)}")
        lines.append(f"    action: {finding.action}")
    return lines


def _finding_rows(result: Reconciliation) -> list[dict[str, Any]]:
    """Findings no line comparison carries (invoice-level and usage ones)."""
    keyed = {line.key for line in result.lines}
    rows = []
    for finding in result.findings:
        if finding.objects and finding.objects[0] in keyed:
            continue
        rows.append(
            {
                "period": result.period,
                "customer_id": finding.customer_id or "",
                "key": "",
                "kind": "",
                "description": finding.detail,
                "currency": finding.currency,
                "expected_minor": "" if finding.expected is None else finding.expected,
                "invoiced_minor": "" if finding.actual is None else finding.actual,
                "difference_minor": finding.difference,
                "expected_quantity": "",
                "invoiced_quantity": "",
                "invoices": " ".join(finding.objects),
                "status": finding.kind.value,
                "action": finding.action,
            }
        )
    return rows


def csv_text(result: Reconciliation) -> str:
    actions = {finding.objects[0]: finding.action for finding in result.findings if finding.objects}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in result.lines:
        writer.writerow(
            {
                "period": result.period,
                "customer_id": line.customer_id or "",
                "key": line.key,
                "kind": line.kind.value,
                "description": line.description,
                "currency": line.currency,
                "expected_minor": line.expected,
                "invoiced_minor": line.invoiced,
                "difference_minor": line.invoiced - line.expected,
                "expected_quantity": line.expected_quantity,
                "invoiced_quantity": line.invoiced_quantity,
                "invoices": " ".join(line.invoices),
                "status": line.status,
                "action": "" if line.status == "ok" else actions.get(line.key, ""),
            }
        )
    for row in _finding_rows(result):
        writer.writerow(row)
    return out.getvalue()


def as_json(result: Reconciliation) -> dict[str, Any]:
    return {
        "period": result.period,
        "customer": result.customer,
        "clean": result.clean,
        "invoices_read": result.invoices_read,
        "totals": {
            currency: {
                "expected": t.expected,
                "invoiced": t.invoiced,
                "paid": t.paid,
                "credited": t.credited,
                "difference": t.difference,
            }
            for currency, t in result.totals.items()
        },
        "by_customer": [
            {
                "customer_id": customer,
                "currency": currency,
                "expected": t.expected,
                "invoiced": t.invoiced,
                "paid": t.paid,
                "difference": t.difference,
            }
            for (customer, currency), t in result.by_customer.items()
        ],
        "findings": [
            {
                "kind": f.kind.value,
                "customer_id": f.customer_id,
                "currency": f.currency,
                "expected": f.expected,
                "actual": f.actual,
                "difference": f.difference,
                "objects": list(f.objects),
                "detail": f.detail,
                "action": f.action,
            }
            for f in result.findings
        ],
        "lines": [
            {
                "key": line.key,
                "customer_id": line.customer_id,
                "kind": line.kind.value,
                "description": line.description,
                "currency": line.currency,
                "expected": line.expected,
                "invoiced": line.invoiced,
                "expected_quantity": line.expected_quantity,
                "invoiced_quantity": line.invoiced_quantity,
                "invoices": list(line.invoices),
                "status": line.status,
            }
            for line in result.lines
        ],
    }
