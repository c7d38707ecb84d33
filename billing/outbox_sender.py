"""The worker side of the outbox: claim due rows, call Stripe with each row's key, record.

Every call carries the row's key as its ``Idempotency-Key`` (and a meter event's
``identifier``), so a row sent twice (a worker died after Stripe answered but before the
row was marked sent; its claim expired; another worker sent it again) is one object in
Stripe. Transient failures retry with exponential backoff and jitter; permanent ones
move the row to ``dead`` with Stripe's message for an operator.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import stripe
from stripe.params import SubscriptionCreateParams, SubscriptionUpdateParams
from stripe.params._subscription_update_params import SubscriptionUpdateParamsItem

from billing.context import BillingContext
from billing.errors import BillingError, StripeFailure
from billing.models import OutboxMessage
from billing.outbox import OutboxKind
from billing.periods import InvalidPeriod, Period
from billing.repository.outbox import OutboxRepository
from billing.stripe_catalog import (
    METER_CUSTOMER_KEY,
    METER_EVENT_NAME,
    METER_VALUE_KEY,
    find_prices,
)
from billing.stripe_client import classify

Store = Callable[[OutboxRepository], Awaitable[None]]


class Waiting(BillingError):
    """The row cannot be sent yet (e.g. its customer is not in Stripe): try again later."""


@dataclass(slots=True)
class DrainReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0
    lost: int = 0  # claims that expired under us; another worker owns the row now
    skipped: str | None = None  # why nothing was sent at all

    def __str__(self) -> str:
        if self.skipped:
            return self.skipped
        return (
            f"sent {self.sent}, retrying {self.retrying}, dead {self.dead}, waiting {self.waiting}"
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    stripe_id: str
    store: Store | None = None  # ids to keep, written with the row's "sent"


class OutboxSender:
    """Drains the outbox; several senders (processes) may drain one database at once."""

    def __init__(
        self,
        ctx: BillingContext,
        client_factory: Callable[[], stripe.StripeClient],
        *,
        claim_ttl: timedelta = timedelta(minutes=10),
        batch: int = 10,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
        max_attempts: int = 50,
        wait_delay: timedelta = timedelta(minutes=1),
        rng: random.Random | None = None,
    ) -> None:
        self.ctx = ctx
        self.client_factory = client_factory
        self.claim_ttl = claim_ttl  # > batch x the HTTP timeout, so a live claim never lapses
        self.batch = batch
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.wait_delay = wait_delay
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    async def drain(self, limit: int = 100) -> DrainReport:
        """Send up to ``limit`` due rows; with no Stripe key, send nothing (the outbox holds)."""
        report = DrainReport()
        if not self.ctx.stripe.enabled:
            report.skipped = "Stripe is not configured (no secret key): the outbox holds"
            return report
        client = self.client_factory()
        done = 0
        while done < limit:
            claimed = await self.claim(min(self.batch, limit - done))
            if not claimed:
                break
            for message in claimed:
                await self._deliver(client, message, report)
            done += len(claimed)
        return report

    async def claim(self, limit: int) -> list[OutboxMessage]:
        """Claim due rows and commit, so the claim holds while Stripe is called."""
        async with self.ctx.sessions() as session, session.begin():
            rows = await OutboxRepository(session).claim_due(
                self.ctx.worker_id, self.ctx.clock(), self.claim_ttl, limit
            )
            session.expunge_all()
            return rows

    async def send(self, client: stripe.StripeClient, message: OutboxMessage) -> str:
        """Make the row's Stripe call and store what it returned; does not mark the row."""
        outcome = await self._call(client, message)
        if outcome.store is not None:
            async with self.ctx.sessions() as session, session.begin():
                await outcome.store(OutboxRepository(session))
        return outcome.stripe_id

    async def _deliver(
        self, client: stripe.StripeClient, message: OutboxMessage, report: DrainReport
    ) -> None:
        worker = self.ctx.worker_id
        try:
            outcome = await self._call(client, message)
        except Waiting as waiting:
            async with self.ctx.sessions() as session, session.begin():
                await OutboxRepository(session).postpone(
                    message.id, worker, str(waiting), self.ctx.clock() + self.wait_delay
                )
            report.waiting += 1
            return
        except Exception as error:  # every failure is judged, none escapes the worker
            failure = classify(error)
            await self._fail(message, failure, report)
            return
        async with self.ctx.sessions() as session, session.begin():
            repository = OutboxRepository(session)
            if outcome.store is not None:
                await outcome.store(repository)
            if await repository.mark_sent(message.id, worker, outcome.stripe_id, self.ctx.clock()):
                report.sent += 1
            else:
                report.lost += 1

    async def _fail(
        self, message: OutboxMessage, failure: StripeFailure, report: DrainReport
    ) -> None:
        worker = self.ctx.worker_id
        attempts = message.attempts + 1
        async with self.ctx.sessions() as session, session.begin():
            repository = OutboxRepository(session)
            if failure.permanent or attempts >= self.max_attempts:
                reason = (
                    str(failure) if failure.permanent else f"gave up after {attempts}: {failure}"
                )
                await repository.mark_dead(message.id, worker, reason)
                report.dead += 1
            else:
                at = self.ctx.clock() + self.backoff(attempts)
                await repository.mark_retrying(message.id, worker, str(failure), at)
                report.retrying += 1

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: between half and all of base x 2^(attempts-1)."""
        ceiling = min(self.base_delay * 2 ** min(attempts - 1, 30), self.max_delay)
        return timedelta(seconds=ceiling.total_seconds() * self.rng.uniform(0.5, 1.0))

    # One method per payload contract (see billing.outbox.OutboxKind).

    async def _call(self, client: stripe.StripeClient, message: OutboxMessage) -> _Outcome:
        handlers = {
            OutboxKind.CUSTOMER_CREATE.value: self._customer_create,
            OutboxKind.SUBSCRIPTION_CREATE.value: self._subscription_create,
            OutboxKind.SUBSCRIPTION_UPDATE.value: self._subscription_update,
            OutboxKind.SUBSCRIPTION_CANCEL.value: self._subscription_cancel,
            OutboxKind.METER_EVENT.value: self._meter_event,
            OutboxKind.INVOICE_ITEM.value: self._invoice_item,
        }
        handler = handlers.get(message.kind)
        if handler is None:
            raise StripeFailure(f"unknown outbox kind {message.kind!r}", permanent=True)
        options: stripe.RequestOptions = {"idempotency_key": message.idempotency_key}
        return await handler(client, message.payload, options)

    async def _customer_create(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        customer_id = str(payload["customer_id"])
        existing = await self._stripe_customer_id(customer_id, wait=False)
        if existing:  # Checkout or an earlier send made it already
            return _Outcome(existing)
        metadata = {"dockyard_customer_id": customer_id}
        company = str(payload.get("company") or "")
        if company:
            metadata["dockyard_company"] = company
        customer = await client.v1.customers.create_async(
            {"email": str(payload["email"]), "name": str(payload["name"]), "metadata": metadata},
            options,
        )

        async def store(repository: OutboxRepository) -> None:
            await repository.set_stripe_customer_id(customer_id, customer.id)

        return _Outcome(customer.id, store)

    async def _subscription_create(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        subscription_id = str(payload["subscription_id"])
        existing = await self._stripe_subscription_id(subscription_id, wait=False)
        if existing:  # created by Checkout
            return _Outcome(existing)
        customer = await self._stripe_customer_id(str(payload["customer_id"]), wait=True)
        assert customer is not None
        plan_id, version = str(payload["plan_id"]), int(payload["plan_version"])
        fee, minutes = await find_prices(client, plan_id, version)
        items: list[Any] = [{"price": price} for price in (fee, minutes) if price]
        if not items:
            raise StripeFailure(
                f"no Stripe price for {plan_id} v{version}: run `dockyard plans sync`",
                permanent=False,
            )
        params: SubscriptionCreateParams = {
            "customer": customer,
            "items": items,
            "billing_cycle_anchor_config": {"day_of_month": 1},
            "proration_behavior": "create_prorations",
            "metadata": {
                "dockyard_subscription_id": subscription_id,
                "dockyard_customer_id": str(payload["customer_id"]),
                "dockyard_plan_id": plan_id,
                "dockyard_plan_version": str(version),
            },
        }
        if payload.get("trial_end"):
            params["trial_end"] = int(payload["trial_end"])
        created = await client.v1.subscriptions.create_async(params, options)

        async def store(repository: OutboxRepository) -> None:
            await repository.set_stripe_subscription_id(subscription_id, created.id)

        return _Outcome(created.id, store)

    async def _subscription_update(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        stripe_id = await self._stripe_subscription_id(str(payload["subscription_id"]), wait=True)
        assert stripe_id is not None
        plan_id, version = str(payload["plan_id"]), int(payload["plan_version"])
        current = await client.v1.subscriptions.retrieve_async(stripe_id)
        fee, minutes = await find_prices(client, plan_id, version)
        items: list[SubscriptionUpdateParamsItem] = []
        had_minutes = False
        for item in current["items"].data:
            metered = (item.price.lookup_key or "").endswith(":minutes")
            had_minutes = had_minutes or metered
            wanted = minutes if metered else fee
            if wanted is None:
                items.append({"id": item.id, "deleted": True})
            elif wanted != item.price.id:
                items.append({"id": item.id, "price": wanted})
        if minutes and not had_minutes:
            items.append({"price": minutes})
        behaviour = payload.get("proration_behavior") or "none"
        params: SubscriptionUpdateParams = {
            "proration_behavior": behaviour,
            "cancel_at": int(payload["cancel_at"]) if payload.get("cancel_at") else "",
            "metadata": {"dockyard_plan_id": plan_id, "dockyard_plan_version": str(version)},
        }
        if items:
            params["items"] = items
        if behaviour != "none" and payload.get("changed_at"):
            params["proration_date"] = proration_date(int(payload["changed_at"]), current)
        updated = await client.v1.subscriptions.update_async(stripe_id, params, options)
        return _Outcome(updated.id)

    async def _subscription_cancel(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        stripe_id = await self._stripe_subscription_id(str(payload["subscription_id"]), wait=True)
        assert stripe_id is not None
        cancelled = await client.v1.subscriptions.cancel_async(stripe_id, None, options)
        return _Outcome(cancelled.id)

    async def _meter_event(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        customer = await self._stripe_customer_id(str(payload["customer_id"]), wait=True)
        assert customer is not None
        identifier = str(options.get("idempotency_key"))
        event = await client.v1.billing.meter_events.create_async(
            {
                "event_name": METER_EVENT_NAME,
                "identifier": identifier,
                "payload": {METER_CUSTOMER_KEY: customer, METER_VALUE_KEY: str(payload["minutes"])},
                "timestamp": int(payload["timestamp"]),
            },
            options,
        )
        return _Outcome(event.identifier)

    async def _invoice_item(
        self, client: stripe.StripeClient, payload: dict[str, Any], options: stripe.RequestOptions
    ) -> _Outcome:
        customer = await self._stripe_customer_id(str(payload["customer_id"]), wait=True)
        assert customer is not None
        try:
            period = Period.parse(str(payload["period"]))
        except InvalidPeriod as error:
            raise StripeFailure(f"invoice item: {error}", permanent=True) from error
        item = await client.v1.invoice_items.create_async(
            {
                "customer": customer,
                "amount": int(payload["amount_minor"]),
                "currency": str(payload["currency"]).lower(),
                "description": str(payload["description"]),
                # The service month, as a subscription line shows its cycle: without it
                # Stripe dates the line when the item arrives, maybe in the next month.
                "period": {
                    "start": int(period.start.timestamp()),
                    "end": int(period.end.timestamp()),
                },
                "metadata": {
                    "dockyard_customer_id": str(payload["customer_id"]),
                    "dockyard_entry_id": str(payload["entry_id"]),
                    "dockyard_period": str(period),
                },
            },
            options,
        )
        return _Outcome(item.id)

    async def _stripe_customer_id(self, customer_id: str, *, wait: bool) -> str | None:
        async with self.ctx.sessions() as session:
            customer = await OutboxRepository(session).customer(customer_id)
        if customer is None:
            raise StripeFailure(f"no customer {customer_id!r} in Dockyard", permanent=True)
        if customer.stripe_customer_id is None and wait:
            raise Waiting(f"customer {customer_id} is not in Stripe yet")
        return customer.stripe_customer_id

    async def _stripe_subscription_id(self, subscription_id: str, *, wait: bool) -> str | None:
        async with self.ctx.sessions() as session:
            subscription = await OutboxRepository(session).subscription(subscription_id)
        if subscription is None:
            raise StripeFailure(f"no subscription {subscription_id!r} in Dockyard", permanent=True)
        if subscription.stripe_subscription_id is None and wait:
            raise Waiting(f"subscription {subscription_id} is not in Stripe yet")
        return subscription.stripe_subscription_id


def proration_date(changed_at: int, subscription: stripe.Subscription) -> int:
    """The moment Stripe prorates a plan change from: when Dockyard made it (the outbox may
    get through minutes or hours later), which Stripe accepts only within the
    subscription's current period.

    A change held in the outbox across a period end (an outage at the turn of the month)
    is prorated from the start of the current period: that period is billed on the new
    plan in full, as Dockyard bills it, and the part of the earlier period after the
    change, which Stripe no longer prorates, is left for the reconciliation of that month
    to report as a missing proration.
    """
    starts = [int(item.current_period_start) for item in subscription["items"].data]
    return max([changed_at, *starts])
