"""The matcher on hand-made lines: a clean month, each kind of difference found (and only
it), and a report that does not depend on the order invoices arrive in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.reconcile.findings import FindingKind
from billing.reconcile.lines import (
    ActualInvoice,
    ActualLine,
    ExpectedLine,
    LineKind,
    MeterSummary,
    UsageAccount,
    line_key,
)
from billing.reconcile.matching import Matcher
from billing.reconcile.result import Reconciliation, Standing

PERIOD = "2026-11"
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 20, tzinfo=UTC)


def fee(customer: str, subscription: str, amount: int = 2900) -> ExpectedLine:
    return ExpectedLine(
        line_key(LineKind.FEE, subscription, PERIOD),
        customer,
        subscription,
        LineKind.FEE,
        "Application Starter",
        "EUR",
        amount,
        1,
        PERIOD,
    )


def usage(customer: str, subscription: str, increments: int, unit: int = 2125) -> ExpectedLine:
    return ExpectedLine(
        line_key(LineKind.USAGE, subscription, PERIOD),
        customer,
        subscription,
        LineKind.USAGE,
        "Support minutes",
        "EUR",
        increments * unit,
        increments,
        PERIOD,
    )


def item(customer: str, entry: str, amount: int) -> ExpectedLine:
    return ExpectedLine(
        line_key(LineKind.ITEM, entry),
        customer,
        None,
        LineKind.ITEM,
        "Setup fee",
        "EUR",
        amount,
        1,
        PERIOD,
    )


def billed(expected: ExpectedLine, invoice: str, n: int = 0, **changes: object) -> ActualLine:
    """The Stripe line that bills ``expected`` exactly (unless ``changes`` say otherwise)."""
    line = ActualLine(
        key=expected.key,
        invoice_id=invoice,
        line_id=f"il_{invoice}_{n}",
        kind=expected.kind,
        description=expected.description,
        currency=expected.currency,
        amount=expected.amount,
        quantity=expected.quantity,
        period_start=NOV,
        period_end=DEC,
        subscription_id=expected.subscription_id,
    )
    return replace(line, **changes)  # type: ignore[arg-type]


def invoice(
    id: str,
    customer: str | None,
    lines: list[ActualLine],
    status: str = "paid",
    subscription: str | None = None,
    created: datetime = NOV,
    currency: str = "EUR",
) -> ActualInvoice:
    total = sum(line.amount for line in lines)
    paid = total if status == "paid" else 0
    return ActualInvoice(
        id=id,
        number=f"DY-{id}",
        customer_id=customer,
        stripe_customer_id=f"cus_{customer}",
        subscription_id=subscription,
        status=status,
        currency=currency,
        total=total,
        amount_paid=paid,
        amount_remaining=total - paid,
        credited=0,
        created=created,
        due_date=None,
        lines=tuple(lines),
    )


EXPECTED = [
    fee("c1", "s1"),
    usage("c1", "s2", increments=4),
    item("c1", "setup:s1", 4900),
    fee("c2", "s3", amount=7900),
]


def clean_invoices() -> list[ActualInvoice]:
    return [
        invoice(
            "in_1",
            "c1",
            [billed(EXPECTED[0], "in_1"), billed(EXPECTED[2], "in_1", 1)],
            subscription="s1",
        ),
        invoice("in_2", "c1", [billed(EXPECTED[1], "in_2")], created=DEC, subscription="s2"),
        invoice("in_3", "c2", [billed(EXPECTED[3], "in_3")], subscription="s3"),
    ]


def run(
    invoices: list[ActualInvoice],
    expected: list[ExpectedLine] = EXPECTED,
    usage_accounts: list[UsageAccount] | None = None,
    meters: list[MeterSummary] = (),  # type: ignore[assignment]
    standings: dict[str, Standing] | None = None,
) -> Reconciliation:
    matcher = Matcher(
        PERIOD,
        expected,
        now=NOW,
        standings=standings or {},
        past_due_after=timedelta(days=14),
        currencies={"c1": "EUR", "c2": "EUR"},
    )
    for one in invoices:
        matcher.add(one)
    return matcher.finish(usage_accounts or [], meters)


def kinds(result: Reconciliation) -> list[FindingKind]:
    return [finding.kind for finding in result.findings]


def test_a_clean_month_has_no_findings_and_totals_that_add_up() -> None:
    result = run(clean_invoices())

    assert result.findings == []
    totals = result.totals["EUR"]
    # 2900 + 4 * 2125 + 4900 + 7900 = 24200
    assert (totals.expected, totals.invoiced, totals.paid, totals.difference) == (
        24200,
        24200,
        24200,
        0,
    )
    assert {line.status for line in result.lines} == {"ok"}


def test_lines_of_other_periods_and_void_or_draft_invoices_are_not_counted() -> None:
    december = replace(
        billed(EXPECTED[0], "in_9"),
        key=line_key(LineKind.FEE, "s1", "2026-12"),
        period_start=DEC,
        period_end=DEC + timedelta(days=31),
    )
    extra = [
        invoice("in_9", "c1", [december], created=DEC),
        invoice("in_8", "c1", [billed(EXPECTED[0], "in_8")], status="void"),
        invoice("in_7", "c1", [billed(EXPECTED[0], "in_7")], status="draft"),
    ]

    assert run(clean_invoices() + extra).findings == []


def test_a_customer_without_any_invoice_is_one_missing_invoice() -> None:
    invoices = [one for one in clean_invoices() if one.customer_id != "c2"]

    result = run(invoices)

    assert kinds(result) == [FindingKind.MISSING_INVOICE]
    (finding,) = result.findings
    assert (finding.customer_id, finding.expected, finding.actual) == ("c2", 7900, None)


def test_a_line_left_off_an_invoice_is_a_missing_line() -> None:
    invoices = clean_invoices()
    invoices[0] = invoice("in_1", "c1", [billed(EXPECTED[0], "in_1")], subscription="s1")

    result = run(invoices)

    assert kinds(result) == [FindingKind.MISSING_LINE]
    assert result.findings[0].objects == ("item:setup:s1",)
    assert result.totals["EUR"].difference == -4900


def test_an_invoice_of_a_customer_unknown_to_dockyard_is_unexpected() -> None:
    stranger = ActualLine(None, "in_x", "il_x", LineKind.FEE, "Something", "EUR", 1000, 1, NOV, DEC)

    result = run([*clean_invoices(), invoice("in_x", None, [stranger])])

    assert kinds(result) == [FindingKind.UNEXPECTED_INVOICE]
    assert result.findings[0].actual == 1000


def test_a_line_nothing_of_ours_names_is_unexpected() -> None:
    invoices = clean_invoices()
    stray = ActualLine(
        None, "in_3", "il_stray", LineKind.ITEM, "Hand-made", "EUR", 500, 1, NOV, DEC
    )
    invoices[2] = invoice("in_3", "c2", [*invoices[2].lines, stray], subscription="s3")

    result = run(invoices)

    assert kinds(result) == [FindingKind.UNEXPECTED_LINE]
    assert result.findings[0].objects == ("in_3", "il_stray")


def test_a_zero_metered_line_for_an_unused_cycle_is_listed_but_not_a_finding() -> None:
    # Stripe lists every metered item on a cycle invoice, at quantity 0 when unused; the
    # ledger expects no usage line for a cycle without billable time.
    unused = usage("c2", "s3", increments=0)
    invoices = clean_invoices()
    lines = [*invoices[2].lines, billed(unused, "in_3", 1)]
    invoices[2] = invoice("in_3", "c2", lines, subscription="s3")

    result = run(invoices)

    assert result.findings == []
    [listed] = [line for line in result.lines if line.key == unused.key]
    assert (listed.status, listed.invoiced, listed.invoiced_quantity) == ("ok", 0, 0)
    assert result.totals["EUR"].difference == 0
    # Billed time the ledger does not expect is still found.
    used = billed(usage("c2", "s3", increments=1), "in_3", 1)
    invoices[2] = invoice("in_3", "c2", [*invoices[2].lines[:-1], used], subscription="s3")
    assert kinds(run(invoices)) == [FindingKind.UNEXPECTED_LINE]


def test_a_line_billed_twice_is_an_amount_mismatch() -> None:
    invoices = clean_invoices()
    again = invoice("in_4", "c2", [billed(EXPECTED[3], "in_4")], subscription="s3")

    result = run([*invoices, again])

    assert kinds(result) == [FindingKind.AMOUNT_MISMATCH]
    assert (result.findings[0].expected, result.findings[0].actual) == (7900, 15800)


def test_a_wrong_price_is_an_amount_mismatch() -> None:
    invoices = clean_invoices()
    invoices[2] = invoice("in_3", "c2", [billed(EXPECTED[3], "in_3", amount=8900)])

    result = run(invoices)

    assert kinds(result) == [FindingKind.AMOUNT_MISMATCH]
    assert result.findings[0].difference == 1000


def test_other_usage_increments_are_a_quantity_mismatch() -> None:
    invoices = clean_invoices()
    invoices[1] = invoice(
        "in_2", "c1", [billed(EXPECTED[1], "in_2", quantity=5, amount=5 * 2125)], created=DEC
    )

    result = run(invoices)

    assert kinds(result) == [FindingKind.QUANTITY_MISMATCH]
    assert (result.findings[0].expected, result.findings[0].actual) == (4, 5)


def test_another_currency_is_a_currency_mismatch() -> None:
    invoices = clean_invoices()
    invoices[2] = invoice(
        "in_3", "c2", [billed(EXPECTED[3], "in_3", currency="USD")], currency="USD"
    )

    result = run(invoices)

    assert kinds(result) == [FindingKind.CURRENCY_MISMATCH]


def test_meter_events_still_in_the_outbox_are_usage_not_sent() -> None:
    waiting = UsageAccount("c1", PERIOD, 120, 90, 30, 0, waiting_ids=(17,))

    result = run(clean_invoices(), usage_accounts=[waiting])

    assert kinds(result) == [FindingKind.USAGE_NOT_SENT]
    assert result.findings[0].objects == ("outbox:17",)


def test_a_meter_holding_more_than_was_sent_is_usage_sent_twice() -> None:
    sent = UsageAccount("c1", PERIOD, 120, 120, 0, 0)

    result = run(clean_invoices(), usage_accounts=[sent], meters=[MeterSummary("c1", PERIOD, 240)])

    assert kinds(result) == [FindingKind.USAGE_SENT_TWICE]
    assert (result.findings[0].expected, result.findings[0].actual) == (120, 240)


def test_an_open_invoice_past_its_due_date_is_unpaid_past_due() -> None:
    invoices = clean_invoices()
    invoices[2] = invoice("in_3", "c2", list(invoices[2].lines), status="open")

    result = run(invoices)

    assert kinds(result) == [FindingKind.UNPAID_PAST_DUE]
    assert result.totals["EUR"].paid == 24200 - 7900


def test_a_paid_invoice_of_a_subscription_suspended_for_non_payment() -> None:
    standings = {"s3": Standing("c2", "suspended", "billing")}

    result = run(clean_invoices(), standings=standings)

    assert kinds(result) == [FindingKind.PAID_BUT_SUSPENDED]


def test_a_manual_suspension_of_a_paid_subscription_is_not_a_finding() -> None:
    standings = {"s3": Standing("c2", "suspended", "manual")}

    assert run(clean_invoices(), standings=standings).findings == []


def _messy_invoices() -> list[ActualInvoice]:
    invoices = clean_invoices()
    invoices[2] = invoice("in_3", "c2", [billed(EXPECTED[3], "in_3", amount=8900)])
    stray = ActualLine(None, "in_5", "il_s", LineKind.ITEM, "Hand-made", "EUR", 500, 1, NOV, DEC)
    return [
        *invoices,
        invoice("in_4", "c2", [billed(EXPECTED[3], "in_4")], status="open"),
        invoice("in_5", "c1", [stray]),
        invoice("in_6", None, [replace(stray, invoice_id="in_6", line_id="il_t")]),
    ]


@settings(max_examples=60, deadline=None)
@given(st.permutations(_messy_invoices()))
def test_the_order_invoices_arrive_in_does_not_change_the_report(
    order: list[ActualInvoice],
) -> None:
    usage_accounts = [UsageAccount("c1", PERIOD, 120, 90, 30, 0, waiting_ids=(17,))]
    reference = run(_messy_invoices(), usage_accounts=usage_accounts)

    shuffled = run(order, usage_accounts=usage_accounts)

    assert shuffled.findings == reference.findings
    assert shuffled.totals == reference.totals
    assert shuffled.lines == reference.lines
    assert shuffled.by_customer == reference.by_customer
