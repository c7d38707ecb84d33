"""Support entries over the monthly cap (approve or reject) and invoices."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from billing import EntryLocked, InvalidTransition, Invoices, Ledger
from portal.customer.pages.common import customer_id_of
from portal.web.guards import viewer_of
from portal.web.rendering import flash, page, see_other
from portal.web.services import Services, ServicesDep
from portal.web.templating import hours


async def _decide(
    request: Request[Any, Any, Any], services: Services, entry_id: str, *, approve: bool
) -> Redirect:
    """Approve or reject an entry over the cap; a second click finds it decided already."""
    ledger = Ledger(services.billing)
    await ledger.entry(entry_id, customer_id_of(request))  # someone else's: 404
    by = viewer_of(request).email
    try:
        if approve:
            entry = await ledger.approve(entry_id, by=by)
            flash(request, f"Approved: {hours(entry.minutes)} of support will be billed.")
        else:
            entry = await ledger.reject(entry_id, by=by)
            flash(request, f"Rejected: those {hours(entry.minutes)} will not be billed.")
    except (InvalidTransition, EntryLocked) as refused:
        flash(request, f"Nothing changed: {refused}", "warn")
    return see_other("/dashboard#support")


@post("/support/entries/{entry_id:str}/approve")
async def approve_entry(
    request: Request[Any, Any, Any], services: ServicesDep, entry_id: FromPath[str]
) -> Redirect:
    return await _decide(request, services, entry_id, approve=True)


@post("/support/entries/{entry_id:str}/reject")
async def reject_entry(
    request: Request[Any, Any, Any], services: ServicesDep, entry_id: FromPath[str]
) -> Redirect:
    return await _decide(request, services, entry_id, approve=False)


@get("/invoices/{invoice_id:str}")
async def invoice_page(
    request: Request[Any, Any, Any], services: ServicesDep, invoice_id: FromPath[str]
) -> Template:
    invoice = await Invoices(services.billing).get(invoice_id, customer_id_of(request))
    return page(request, "customer/invoice.html", invoice=invoice)
