"""What Stripe did invoice: the invoices created in a window, streamed page by page.

Memory holds one page of invoices (100, as JSON until converted, then as
:class:`ActualInvoice`s), never the account: the caller gets each invoice with all its lines
(Stripe embeds the first ten; the rest are paged from ``/v1/invoices/{id}/lines``), its
credit notes (fetched only when the invoice says it has some) and our ids resolved.

A failed request is retried with backoff; when Stripe stays unreachable the stream raises
:class:`StripeReadInterrupted`, naming the last invoice handed over. Reading again with
the same :class:`Checkpoint` continues after it: nothing twice, nothing skipped.

Requests per window: ceil(invoices / 100) pages, plus one per 100 further lines of an
invoice with more than ten, one per invoice with credit notes, one per line of an invoice
item that lacks our metadata, and the prices (once, unless ``metered_prices`` is given).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from datetime import datetime
from typing import TypeVar

import stripe
from stripe.params import (
    CreditNoteListParams,
    InvoiceLineItemListParams,
    InvoiceListParams,
    PriceListParams,
)

from billing.errors import StripeFailure
from billing.periods import Period
from billing.reconcile.lines import ActualInvoice, ActualLine, LineKind
from billing.reconcile.stripe.checkpoint import Checkpoint, window_name
from billing.reconcile.stripe.ids import ENTRY_KEY, CustomerIndex
from billing.reconcile.stripe.lines import (
    LineSource,
    actual_invoice,
    actual_line,
    at,
    credit_notes_amount,
    entry_id,
    id_of,
    line_source,
    metadata_of,
    starts_in,
)
from billing.reconcile.stripe.retry import (
    DEFAULT_RETRY,
    Json,
    Retry,
    every_item,
    every_page,
    get_json,
    path,
    with_retry,
)

__all__ = ["PAGE_SIZE", "StripeReadInterrupted", "metered_price_ids", "stream_invoices"]

PAGE_SIZE = 100  # Stripe's largest page

T = TypeVar("T")


class StripeReadInterrupted(StripeFailure):
    """Reading stopped; ``checkpoint`` says after which invoice to continue."""

    def __init__(self, checkpoint: Checkpoint, doing: str, failure: StripeFailure) -> None:
        self.checkpoint = checkpoint
        where = (
            f"after invoice {checkpoint.after} ({checkpoint.read} read)"
            if checkpoint.after
            else "before the first invoice"
        )
        saved = f" (saved in {checkpoint.path})" if checkpoint.path else ""
        super().__init__(
            f"reading Stripe's {checkpoint.window} stopped {where} while {doing}: {failure}. "
            f"Run it again with the same checkpoint{saved} to continue from there",
            permanent=failure.permanent,
        )


async def metered_price_ids(
    client: stripe.StripeClient, retry: Retry = DEFAULT_RETRY
) -> frozenset[str]:
    """Every metered price in the account, archived ones too (old invoices bill them)."""
    params: PriceListParams = {"limit": PAGE_SIZE, "type": "recurring"}
    return frozenset(
        [
            price["id"]
            async for price in every_item(client, "/v1/prices", params, retry)
            if at(price, "recurring", "usage_type") == "metered"
        ]
    )


async def stream_invoices(
    client: stripe.StripeClient,
    window_start: datetime,
    window_end: datetime,
    *,
    customers: CustomerIndex,
    customer: str | None = None,
    checkpoint: Checkpoint | None = None,
    on_page: Callable[[int], None] | None = None,
    metered_prices: Collection[str] | None = None,
    lines_of: Period | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> AsyncGenerator[ActualInvoice, None]:
    """Invoices created in [window_start, window_end), newest first (Stripe's order).

    ``customer`` (our id) keeps only that customer's invoices, filtered by Stripe when the
    customer has a Stripe id. ``on_page`` gets the number of invoices read so far (this
    checkpoint's, earlier reads included) after each page. ``metered_prices`` are the
    price ids that bill usage; None reads them from Stripe first (one request).
    ``lines_of`` keeps only the lines whose service period starts in that month: the
    others are not converted (nor their invoice items fetched), as a month's
    reconciliation looks at no other (an invoice's own fields are kept whole).
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("the window needs timezone-aware datetimes (UTC)")
    position = checkpoint if checkpoint is not None else Checkpoint()
    position.bind(window_name(window_start, window_end, customer))
    if position.complete:
        return
    bounds = (
        (int(lines_of.start.timestamp()), int(lines_of.end.timestamp()))
        if lines_of is not None
        else None
    )
    reader = _Reader(client, customers, position, retry, bounds)
    if metered_prices is None:
        metered_prices = await reader.guard("listing prices", metered_price_ids(client, retry))
    params: InvoiceListParams = {
        "limit": PAGE_SIZE,
        "created": {"gte": int(window_start.timestamp()), "lt": int(window_end.timestamp())},
    }
    stripe_customer = customers.stripe_customer(customer) if customer else None
    if stripe_customer:
        params["customer"] = stripe_customer
    try:
        while True:
            if position.after:
                params["starting_after"] = position.after
            page = await reader.guard(
                "listing invoices",
                with_retry(lambda: get_json(client, "/v1/invoices", params), retry),
            )
            more = bool(page.get("has_more") and page["data"])
            converted, stopped = await reader.page(page["data"], metered_prices)
            # The page's JSON goes before the caller works on its invoices: kept, it would
            # outlive collections and be promoted, and every full collection of the
            # garbage collector would walk it (a third of a reconciliation's time).
            del page
            for actual in converted:
                if customer is None or actual.customer_id == customer:
                    yield actual
                position.advance(actual.id)  # the caller asked for the next one: done
            if stopped is not None:
                doing, failure = stopped
                position.save()
                raise StripeReadInterrupted(position, doing, failure) from failure
            position.save()
            if on_page is not None:
                on_page(position.read)
            if not more:
                break
        position.finish()
    finally:
        position.save()


class _Reader:
    """One invoice at a time: its remaining lines, credit notes and item metadata."""

    def __init__(
        self,
        client: stripe.StripeClient,
        customers: CustomerIndex,
        position: Checkpoint,
        retry: Retry,
        bounds: tuple[int, int] | None,
    ) -> None:
        self.client = client
        self.customers = customers
        self.position = position
        self.retry = retry
        self.bounds = bounds  # of the lines kept: their period's start, epoch seconds

    async def guard(self, doing: str, request: Awaitable[T]) -> T:
        try:
            return await request
        except StripeFailure as failure:
            self.position.save()
            raise StripeReadInterrupted(self.position, doing, failure) from failure

    async def page(
        self, data: list[Json], metered_prices: Collection[str]
    ) -> tuple[list[ActualInvoice], tuple[str, StripeFailure] | None]:
        """A page's invoices converted, up to the first that could not be read (and what
        stopped it), so the caller hands over those before it and then fails."""
        converted: list[ActualInvoice] = []
        for invoice in data:
            try:
                converted.append(await self.invoice(invoice, metered_prices))
            except StripeFailure as failure:
                return converted, (f"reading invoice {invoice['id']}", failure)
        return converted, None

    async def invoice(self, invoice: Json, metered_prices: Collection[str]) -> ActualInvoice:
        try:
            lines: list[ActualLine] = []
            embedded = invoice["lines"]
            data: list[Json] = embedded["data"]
            await self.convert(data, invoice, metered_prices, lines)
            if embedded.get("has_more") and data:
                url = path("/v1/invoices/{}/lines", invoice["id"])
                params: InvoiceLineItemListParams = {
                    "limit": PAGE_SIZE,
                    "starting_after": data[-1]["id"],
                }
                async for page in every_page(self.client, url, params, self.retry):
                    await self.convert(page, invoice, metered_prices, lines)
            credited: int = 0
            notes: tuple[str, ...] = ()
            if credit_notes_amount(invoice) > 0:
                credited, notes = await self.credit_notes(invoice["id"])
            return actual_invoice(
                invoice, tuple(lines), self.customers, credited=credited, credit_notes=notes
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StripeFailure(
                f"the invoice is not in the shape Dockyard reads ({type(error).__name__}: "
                f"{error}); was the Stripe API version changed?",
                permanent=True,
            ) from None

    async def convert(
        self,
        data: list[Json],
        invoice: Json,
        metered_prices: Collection[str],
        into: list[ActualLine],
    ) -> None:
        """``data``'s lines (those of the wanted month) appended to ``into``. A page at a
        time, not a coroutine per line: Stripe is asked only for an item line without our
        metadata, and a line's conversion is otherwise plain Python."""
        invoice_id: str = invoice["id"]
        bounds = self.bounds
        for line in data:
            if bounds is not None and not starts_in(line, bounds):
                continue
            source = line_source(line, metered_prices)
            entry = None
            if source.kind is LineKind.ITEM:
                entry = (
                    entry_id(line)
                    or await self.item_entry(source)
                    or self.checkout_setup_entry(invoice)
                )
            into.append(actual_line(line, invoice_id, source, self.customers, entry))

    def checkout_setup_entry(self, invoice: Json) -> str | None:
        """A one-time line without our metadata on a subscription's first invoice is the
        setup fee its Checkout session carried (billing.stripe.checkout: the only one-time line
        Dockyard puts on a session), so it is keyed as the ledger keys setup fees."""
        if invoice.get("billing_reason") != "subscription_create":
            return None
        details = at(invoice, "parent", "subscription_details")
        subscription = self.customers.subscription(
            id_of(at(details, "subscription")), metadata_of(details)
        )
        return f"setup:{subscription}" if subscription else None

    async def item_entry(self, source: LineSource) -> str | None:
        """Our entry id from the invoice item itself, for a line that lacks the metadata."""
        if source.invoice_item_id is None:
            return None
        url = path("/v1/invoiceitems/{}", source.invoice_item_id)
        try:
            item = await with_retry(lambda: get_json(self.client, url, {}), self.retry)
        except StripeFailure as failure:
            if failure.permanent:  # deleted: nothing of ours names the line
                return None
            raise
        return metadata_of(item).get(ENTRY_KEY) or None

    async def credit_notes(self, invoice_id: str) -> tuple[int, tuple[str, ...]]:
        """The total of the invoice's credit notes that are not void, and their ids."""
        total, ids = 0, []
        params: CreditNoteListParams = {"invoice": invoice_id, "limit": PAGE_SIZE}
        async for note in every_item(self.client, "/v1/credit_notes", params, self.retry):
            if note.get("status") != "void":
                total += note["amount"]
                ids.append(note["id"])
        return total, tuple(ids)
