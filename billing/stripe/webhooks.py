"""Stripe webhooks in four steps: verify → store by id → handle in the worker → mark handled.

``receive`` runs in the web request: it verifies the signature over the raw bytes and
stores the event once (a redelivery is "already seen"). ``handle_pending`` runs in the
worker: events arrive at least once and in any order, so each handler refetches the object
from Stripe and mirrors what Stripe says now, never the payload's possibly stale copy.
Every ``invoice.*`` event handled here also records the invoice (billing.invoices).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing.context import BillingContext
from billing.errors import BillingError, WebhookRejected
from billing.invoices import Invoices, stripe_subscription_id
from billing.repository.webhooks import WebhookRepository
from billing.stripe import subscription_events as events
from billing.support_time.closing import close_invoiced

log = logging.getLogger(__name__)

METER_ERROR = "v1.billing.meter.error_report_triggered"


@dataclass(frozen=True, slots=True)
class Received:
    event_id: str
    type: str
    duplicate: bool  # already stored: a redelivery, nothing new


async def receive(ctx: BillingContext, raw_body: bytes, signature: str | None) -> Received:
    """Verify ``raw_body`` against the ``Stripe-Signature`` header, then store the event."""
    secret = ctx.stripe.webhook_secret
    if not secret:
        raise WebhookRejected("no webhook secret configured (DOCKYARD_STRIPE_WEBHOOK_SECRET)")
    if not signature:
        raise WebhookRejected("missing Stripe-Signature header")
    try:
        # The signature first (over the raw bytes), then the body: nothing unsigned is read.
        stripe.WebhookSignature.verify_header(
            raw_body.decode("utf-8"), signature, secret, ctx.stripe.webhook_tolerance_seconds
        )
        payload = json.loads(raw_body)
    except stripe.SignatureVerificationError as error:
        raise WebhookRejected(f"bad signature: {error.user_message}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookRejected(f"not a Stripe event: the body is not JSON ({error})") from None
    # Signed but not an event (a JSON array, an object without id or type): a 400, so
    # Stripe stops retrying what no retry can fix.
    if not isinstance(payload, dict):
        raise WebhookRejected(f"not a Stripe event: the body is a JSON {type(payload).__name__}")
    missing = [key for key in ("id", "type") if not isinstance(payload.get(key), str)]
    if missing:
        raise WebhookRejected(f"not a Stripe event: no {' or '.join(missing)} in the body")
    event = stripe.Event.construct_from(payload, stripe.api_key)
    # Stored as Stripe sent it (to_dict() would turn decimal strings into Decimals).
    return await _store(ctx, event, payload)


async def _store(ctx: BillingContext, event: stripe.Event, payload: dict[str, Any]) -> Received:
    try:
        async with ctx.sessions() as session, session.begin():
            repository = WebhookRepository(session)
            if await repository.seen(event.id):
                return Received(event.id, event.type, duplicate=True)
            repository.add(event.id, event.type, payload, ctx.clock())
    except IntegrityError:  # the same event stored by a concurrent delivery
        return Received(event.id, event.type, duplicate=True)
    return Received(event.id, event.type, duplicate=False)


Handler = Callable[[BillingContext, AsyncSession, stripe.StripeClient, str], Awaitable[None]]


async def handle_pending(ctx: BillingContext, client: stripe.StripeClient, limit: int = 100) -> int:
    """Handle stored, unhandled events; returns how many were handled.

    A handler's error is kept on the event and the event is tried again next time.
    Handlers mirror refetched state, so handling an event twice does no harm.
    """
    async with ctx.sessions() as session:
        pending = await WebhookRepository(session).unhandled(limit)
        session.expunge_all()
    handled = 0
    for event in pending:
        note: str | None = None
        try:
            async with ctx.sessions() as session, session.begin():
                if event.type == METER_ERROR:
                    note = _meter_error_note(event.payload)
                    log.warning("Stripe meter error report %s: %s", event.id, note)
                else:
                    handler = HANDLERS.get(event.type)
                    if handler is not None:
                        await handler(ctx, session, client, _object_id(event.payload))
                await WebhookRepository(session).finish(event.id, ctx.clock(), note)
        except Exception as error:  # kept on the event for operators, retried next pass
            log.exception("webhook event %s (%s) failed", event.id, event.type)
            async with ctx.sessions() as session, session.begin():
                await WebhookRepository(session).failed(
                    event.id, f"{type(error).__name__}: {error}"
                )
            continue
        handled += 1
    return handled


def _object_id(payload: dict[str, object]) -> str:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(object_id, str):
        raise BillingError("event has no data.object.id")
    return object_id


def _meter_error_note(payload: dict[str, object]) -> str:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    summary = obj.get("summary") if isinstance(obj, dict) else None
    return f"meter error report: {summary or obj}"


def _time(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


async def _checkout_completed(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> None:
    checkout = await client.v1.checkout.sessions.retrieve_async(object_id)
    if checkout.mode != "subscription" or not checkout.client_reference_id:
        return
    subscription_id = _id(checkout.subscription)
    customer_id = _id(checkout.customer)
    if subscription_id is None or customer_id is None:
        raise BillingError(f"checkout session {object_id} has no subscription yet")
    subscription = await client.v1.subscriptions.retrieve_async(subscription_id)
    await events.activate_from_checkout(
        ctx,
        session,
        checkout.client_reference_id,
        subscription.id,
        customer_id,
        subscription.status,
        _time(subscription.trial_end),
        ctx.clock(),
        started_at=_time(subscription.start_date),
    )


def _id(value: object) -> str | None:
    """An expandable field: an id string, or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    object_id = getattr(value, "id", None)
    return object_id if isinstance(object_id, str) else None


async def _recorded_invoice(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> stripe.Invoice:
    """Refetch an invoice and record our copy. The customer comes expanded: its metadata
    names our customer when the Stripe link is not stored yet."""
    invoice = await client.v1.invoices.retrieve_async(object_id, params={"expand": ["customer"]})
    await Invoices(ctx).record(session, invoice)
    return invoice


async def _invoice_changed(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> None:
    invoice = await _recorded_invoice(ctx, session, client, object_id)
    await _close_invoiced_periods(ctx, session, invoice)


# The invoices that bill a subscription's past period: its usage is final from here on.
_PERIOD_CLOSING = frozenset({"subscription_cycle", "subscription_cancel"})


async def _close_invoiced_periods(
    ctx: BillingContext, session: AsyncSession, invoice: stripe.Invoice
) -> None:
    """A cycle (or final) invoice was created for a subscription: its support periods up
    to the invoice's period end close now, and later entries go on the next invoice."""
    subscription_id = stripe_subscription_id(invoice)
    if subscription_id is None or invoice.billing_reason not in _PERIOD_CLOSING:
        return
    period_end = datetime.fromtimestamp(invoice.period_end, UTC)
    await close_invoiced(ctx, session, subscription_id, period_end, invoice.id or "")


async def _invoice_paid(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> None:
    invoice = await _recorded_invoice(ctx, session, client, object_id)
    subscription_id = stripe_subscription_id(invoice)
    if subscription_id and invoice.status == "paid":
        await events.mark_invoice_paid(ctx, session, subscription_id, ctx.clock())


async def _invoice_failed(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> None:
    invoice = await _recorded_invoice(ctx, session, client, object_id)
    subscription_id = stripe_subscription_id(invoice)
    # Refetched: if the invoice has been paid since, the failure no longer matters.
    if subscription_id and invoice.status == "open":
        await events.mark_invoice_failed(ctx, session, subscription_id, ctx.clock())


async def _subscription_changed(
    ctx: BillingContext, session: AsyncSession, client: stripe.StripeClient, object_id: str
) -> None:
    subscription = await client.v1.subscriptions.retrieve_async(object_id)
    now = ctx.clock()
    if subscription.status == "canceled":
        await events.mark_deleted(ctx, session, subscription.id, _time(subscription.ended_at), now)
        return
    items = subscription["items"].data
    await events.mirror_subscription(
        ctx,
        session,
        subscription.id,
        subscription.status,
        _time(subscription.cancel_at),
        _time(subscription.ended_at),
        _time(items[0].current_period_start) if items else None,
        _time(items[0].current_period_end) if items else None,
        now,
    )


HANDLERS: dict[str, Handler] = {
    "invoice.created": _invoice_changed,  # recorded, and closes the periods it bills
    "checkout.session.completed": _checkout_completed,
    "invoice.finalized": _invoice_changed,
    "invoice.updated": _invoice_changed,
    "invoice.voided": _invoice_changed,
    "invoice.marked_uncollectible": _invoice_changed,
    "invoice.paid": _invoice_paid,  # recorded, and ends dunning
    "invoice.payment_failed": _invoice_failed,  # recorded, and starts dunning
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
}
