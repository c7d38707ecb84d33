"""Expected lines against Stripe's invoices: findings and totals, whatever the order.

The matcher takes invoices one at a time (they stream from Stripe) and keeps only sums per
line key, so its memory grows with the number of distinct lines of the period, not with
the size of Stripe's JSON. Everything it reports is a function of the *set* of invoices:
sums are commutative and the findings are sorted at the end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from billing.reconcile.findings import Finding, FindingKind
from billing.reconcile.lines import (
    ActualInvoice,
    ActualLine,
    ExpectedLine,
    LineKind,
    MeterSummary,
    UsageAccount,
    month_of,
)
from billing.reconcile.result import LineComparison, Reconciliation, Standing, Totals


@dataclass(slots=True)
class _Actual:
    """What Stripe invoiced under one key. One per line of the period, so kept small: slots,
    and tuples without repeats (a line key is nearly always on one line of one invoice; a
    set of one costs two and a half times a list of one, and a tuple of strings is left
    out of the garbage collector's walks, a list is not)."""

    amount: int = 0
    quantity: int = 0
    currency: str = ""
    invoices: tuple[str, ...] = ()
    line_ids: tuple[str, ...] = ()
    description: str = ""
    kind: LineKind = LineKind.ITEM
    customer_id: str | None = None


def line_period(line: ActualLine) -> str:
    return month_of(line.period_start)


class Matcher:
    def __init__(
        self,
        period: str,
        expected: Iterable[ExpectedLine],
        *,
        now: datetime,
        standings: Mapping[str, Standing],
        past_due_after: timedelta,
        currencies: Mapping[str, str],  # customer id → the currency the customer pays in
    ) -> None:
        self.period = period
        self.now = now
        self.standings = standings
        self.past_due_after = past_due_after
        self.currencies = currencies
        self.expected: dict[str, ExpectedLine] = {}
        for line in expected:
            self.expected[line.key] = line
        self.expected_customers = {line.customer_id for line in self.expected.values()}
        self.actual: dict[str, _Actual] = defaultdict(_Actual)
        self.unkeyed: list[tuple[ActualInvoice, ActualLine]] = []
        self.findings: list[Finding] = []
        self.invoice_totals: dict[tuple[str, str], Totals] = defaultdict(Totals)
        self.invoiced_customers: set[str] = set()
        self.invoices_read = 0

    # -- one invoice at a time ----------------------------------------------------------

    def add(self, invoice: ActualInvoice) -> None:
        self.invoices_read += 1
        if invoice.status in ("draft", "void"):
            return  # not a charge (yet, or any more)
        ours = [line for line in invoice.lines if line_period(line) == self.period]
        if not ours:
            return  # an invoice of another period
        if invoice.customer_id is None or (
            invoice.customer_id not in self.expected_customers
            and not any(line.key in self.expected for line in ours)
        ):
            self._finding(
                FindingKind.UNEXPECTED_INVOICE,
                invoice.customer_id,
                invoice.currency,
                None,
                sum(line.amount for line in ours),
                (invoice.id, invoice.stripe_customer_id),
                "an invoice for a customer Dockyard expected nothing from this period",
            )
            return
        customer = invoice.customer_id
        self.invoiced_customers.add(customer)
        amount = sum(line.amount for line in ours)
        totals = self.invoice_totals[(customer, invoice.currency)]
        totals.invoiced += amount
        if invoice.status == "paid":
            totals.paid += amount
        totals.credited += invoice.credited
        for line in ours:
            if line.key is None:
                self.unkeyed.append((invoice, line))
                continue
            actual = self.actual[line.key]
            actual.amount += line.amount
            actual.quantity += line.quantity
            actual.currency = line.currency
            if invoice.id not in actual.invoices:
                actual.invoices += (invoice.id,)
            if line.line_id not in actual.line_ids:
                actual.line_ids += (line.line_id,)
            actual.description = actual.description or line.description
            actual.kind = line.kind
            actual.customer_id = customer
        self._standing_checks(invoice)

    def _standing_checks(self, invoice: ActualInvoice) -> None:
        if invoice.status == "open":
            due = invoice.due_date or invoice.created + self.past_due_after
            if due < self.now and invoice.amount_remaining > 0:
                self._finding(
                    FindingKind.UNPAID_PAST_DUE,
                    invoice.customer_id,
                    invoice.currency,
                    invoice.total,
                    invoice.amount_paid,
                    (invoice.id,),
                    f"open since {invoice.created:%Y-%m-%d}, due {due:%Y-%m-%d}, "
                    f"{invoice.amount_remaining} minor units remaining",
                )
        standing = self.standings.get(invoice.subscription_id or "")
        if (
            invoice.status == "paid"
            and standing is not None
            and standing.state == "suspended"
            and standing.suspension_reason == "billing"
        ):
            self._finding(
                FindingKind.PAID_BUT_SUSPENDED,
                invoice.customer_id,
                invoice.currency,
                None,
                invoice.amount_paid,
                (invoice.id, invoice.subscription_id or ""),
                "the invoice is paid but the subscription is still suspended for non-payment",
            )

    # -- the end: compare ---------------------------------------------------------------

    def finish(
        self, usage: Iterable[UsageAccount] = (), meters: Iterable[MeterSummary] = ()
    ) -> Reconciliation:
        comparisons: list[LineComparison] = []
        by_customer: dict[tuple[str, str], Totals] = defaultdict(Totals)
        missing_by_customer: dict[str, list[ExpectedLine]] = defaultdict(list)
        for key, line in self.expected.items():
            by_customer[(line.customer_id, line.currency)].expected += line.amount
            actual = self.actual.get(key)
            if actual is None:
                if line.amount != 0:
                    missing_by_customer[line.customer_id].append(line)
                comparisons.append(self._compare(line, None, "ok" if not line.amount else ""))
                continue
            comparisons.append(self._compare(line, actual, self._check(line, actual)))
        self._missing(missing_by_customer, comparisons)
        for key, actual in self.actual.items():
            if key not in self.expected:
                if actual.amount == 0 and actual.quantity == 0:
                    # Bills nothing: Stripe lists every metered item, at 0 when unused.
                    comparisons.append(replace(_unexpected_comparison(key, actual), status="ok"))
                    continue
                self._unexpected_line(key, actual)
                comparisons.append(_unexpected_comparison(key, actual))
        for invoice, stray in self.unkeyed:
            self._finding(
                FindingKind.UNEXPECTED_LINE,
                invoice.customer_id,
                stray.currency,
                None,
                stray.amount,
                (invoice.id, stray.line_id),
                f"a line Dockyard cannot attribute: {stray.description!r}",
            )
        self._usage(usage, meters)
        for (customer, currency), invoiced in self.invoice_totals.items():
            totals = by_customer[(customer, currency)]
            totals.invoiced += invoiced.invoiced
            totals.paid += invoiced.paid
            totals.credited += invoiced.credited
        totals_by_currency: dict[str, Totals] = defaultdict(Totals)
        for (_, currency), totals in by_customer.items():
            overall = totals_by_currency[currency]
            overall.expected += totals.expected
            overall.invoiced += totals.invoiced
            overall.paid += totals.paid
            overall.credited += totals.credited
        self.findings.sort(key=_finding_order)
        comparisons.sort(key=lambda c: (c.customer_id or "", c.key))
        return Reconciliation(
            period=self.period,
            customer=None,
            findings=self.findings,
            totals=dict(sorted(totals_by_currency.items())),
            by_customer=dict(sorted(by_customer.items())),
            lines=comparisons,
            invoices_read=self.invoices_read,
        )

    def _check(self, line: ExpectedLine, actual: _Actual) -> str:
        if (
            actual.currency == line.currency
            and actual.amount == line.amount
            and (line.kind is not LineKind.USAGE or actual.quantity == line.quantity)
        ):
            return "ok"  # the usual case, without sorting the objects a finding names
        objects = (line.key, *sorted(actual.invoices), *sorted(actual.line_ids))
        if actual.currency != line.currency:
            self._finding(
                FindingKind.CURRENCY_MISMATCH,
                line.customer_id,
                actual.currency,
                line.amount,
                actual.amount,
                objects,
                f"{line.description}: expected in {line.currency}, invoiced in {actual.currency}",
            )
            return FindingKind.CURRENCY_MISMATCH.value
        if line.kind is LineKind.USAGE and actual.quantity != line.quantity:
            self._finding(
                FindingKind.QUANTITY_MISMATCH,
                line.customer_id,
                line.currency,
                line.quantity,
                actual.quantity,
                objects,
                f"{line.description}: {line.quantity} increments expected, "
                f"{actual.quantity} invoiced ({actual.amount - line.amount:+d} minor units)",
            )
            return FindingKind.QUANTITY_MISMATCH.value
        if actual.amount != line.amount:
            self._finding(
                FindingKind.AMOUNT_MISMATCH,
                line.customer_id,
                line.currency,
                line.amount,
                actual.amount,
                objects,
                f"{line.description}: {line.amount} expected, {actual.amount} invoiced",
            )
            return FindingKind.AMOUNT_MISMATCH.value
        return "ok"

    def _missing(
        self, missing: Mapping[str, list[ExpectedLine]], comparisons: list[LineComparison]
    ) -> None:
        status: dict[str, str] = {}
        for customer, lines in missing.items():
            keys = tuple(sorted(line.key for line in lines))
            if customer not in self.invoiced_customers:
                for currency in sorted({line.currency for line in lines}):
                    amount = sum(line.amount for line in lines if line.currency == currency)
                    self._finding(
                        FindingKind.MISSING_INVOICE,
                        customer,
                        currency,
                        amount,
                        None,
                        keys,
                        f"no invoice in Stripe for {len(lines)} expected line(s)",
                    )
                status.update(dict.fromkeys(keys, FindingKind.MISSING_INVOICE.value))
                continue
            for line in lines:
                self._finding(
                    FindingKind.MISSING_LINE,
                    customer,
                    line.currency,
                    line.amount,
                    None,
                    (line.key,),
                    f"{line.description} is on no invoice",
                )
                status[line.key] = FindingKind.MISSING_LINE.value
        for index, comparison in enumerate(comparisons):
            if comparison.key in status:
                comparisons[index] = _with_status(comparison, status[comparison.key])

    def _unexpected_line(self, key: str, actual: _Actual) -> None:
        self._finding(
            FindingKind.UNEXPECTED_LINE,
            actual.customer_id,
            actual.currency,
            None,
            actual.amount,
            (key, *sorted(actual.invoices), *sorted(actual.line_ids)),
            f"{actual.description or key}: invoiced, but the ledger expects nothing for it",
        )

    def _usage(self, usage: Iterable[UsageAccount], meters: Iterable[MeterSummary]) -> None:
        sent: dict[str, int] = {}
        for account in usage:
            sent[account.customer_id] = account.sent_minutes
            if account.waiting_minutes or account.dead_minutes:
                ids = (*account.waiting_ids, *account.dead_ids)
                self._finding(
                    FindingKind.USAGE_NOT_SENT,
                    account.customer_id,
                    self.currencies.get(account.customer_id, ""),
                    account.billable_minutes,
                    account.sent_minutes,
                    tuple(f"outbox:{message}" for message in sorted(ids)),
                    f"{account.waiting_minutes} min waiting and {account.dead_minutes} min dead "
                    "in the outbox: never reached Stripe's meter",
                )
        for summary in meters:
            recorded = sent.get(summary.customer_id, 0)
            if summary.minutes > recorded:
                self._finding(
                    FindingKind.USAGE_SENT_TWICE,
                    summary.customer_id,
                    self.currencies.get(summary.customer_id, ""),
                    recorded,
                    summary.minutes,
                    (f"meter:{summary.customer_id}:{summary.period}",),
                    f"Stripe's meter holds {summary.minutes} min, the ledger sent {recorded}",
                )

    def _compare(self, line: ExpectedLine, actual: _Actual | None, status: str) -> LineComparison:
        return LineComparison(
            key=line.key,
            customer_id=line.customer_id,
            kind=line.kind,
            description=line.description,
            currency=line.currency,
            expected=line.amount,
            invoiced=actual.amount if actual else 0,
            expected_quantity=line.quantity,
            invoiced_quantity=actual.quantity if actual else 0,
            invoices=tuple(sorted(actual.invoices)) if actual else (),
            status=status,
        )

    def _finding(
        self,
        kind: FindingKind,
        customer: str | None,
        currency: str,
        expected: int | None,
        actual: int | None,
        objects: tuple[str, ...],
        detail: str,
    ) -> None:
        self.findings.append(Finding(kind, customer, currency, expected, actual, objects, detail))


def _unexpected_comparison(key: str, actual: _Actual) -> LineComparison:
    return LineComparison(
        key=key,
        customer_id=actual.customer_id,
        kind=actual.kind,
        description=actual.description,
        currency=actual.currency,
        expected=0,
        invoiced=actual.amount,
        expected_quantity=0,
        invoiced_quantity=actual.quantity,
        invoices=tuple(sorted(actual.invoices)),
        status=FindingKind.UNEXPECTED_LINE.value,
    )


def _with_status(comparison: LineComparison, status: str) -> LineComparison:
    return replace(comparison, status=status)


def _finding_order(finding: Finding) -> tuple[str, str, tuple[str, ...], str]:
    return (finding.customer_id or "", finding.kind.value, finding.objects, finding.detail)
