"""The worker side of the outbox: claim due rows, call Stripe with each row's key, record.

A customer's rows go out in the order they were written: a row waits while an earlier one
of its customer is unsent (pending or retrying), and is passed only once that one is dead
(``OutboxRepository.claim_due``). So a retried plan change can never land after, and undo,
a cancellation written later.

At a row's first attempt its Stripe request is built (``billing.outbox.requests``) and
stored with the row before the call; every later attempt resends that request unchanged,
under the row's key as ``Idempotency-Key`` (and a meter event's ``identifier``). The one
exception: a meter event whose period Stripe invoiced while it was being retried would
land on no invoice; it is rebuilt once for the open period (``restamp``), under a key of
its own. So a row
sent twice (a worker died after Stripe answered but before the row was marked sent) is
one object in Stripe, and a retry never meets Stripe's "same key, other parameters"
refusal. Transient failures retry with exponential backoff and jitter; permanent ones move
the row to ``dead`` with Stripe's message for an operator.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import stripe

from billing.context import BillingContext
from billing.errors import StripeFailure, UnreadableMessage, Waiting
from billing.models import OutboxMessage
from billing.outbox.messages import (
    CustomerCreate,
    Message,
    OutboxKind,
    SubscriptionCreate,
    read_message,
)
from billing.outbox.requests import AlreadyDone, Request, build, perform, restamp
from billing.repository.customers import CustomerRepository
from billing.repository.outbox import OutboxRepository
from billing.repository.subscriptions import SubscriptionRepository
from billing.stripe.client import classify


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
        request = await self._request(client, message)
        stripe_id = request.stripe_id if isinstance(request, AlreadyDone) else None
        if isinstance(request, Request):
            key = request.idempotency_key or message.idempotency_key
            options: stripe.RequestOptions = {"idempotency_key": key}
            stripe_id = await perform(client, request, options)
        assert stripe_id is not None
        async with self.ctx.sessions() as session, session.begin():
            await _remember(OutboxRepository(session), _message(message), stripe_id, self.ctx)
        return stripe_id

    async def _request(
        self, client: stripe.StripeClient, message: OutboxMessage
    ) -> Request | AlreadyDone:
        """The row's frozen request; at its first attempt, built and stored first. A meter
        event whose period was invoiced while it was retried is rebuilt (``restamp``)."""
        if message.request is not None:
            frozen = Request.from_json(message.request)
            if message.kind != OutboxKind.METER_EVENT.value:
                return frozen
            async with self.ctx.sessions() as session, session.begin():
                repository = OutboxRepository(session)
                now = self.ctx.clock()
                rebuilt = await restamp(repository, _message(message), frozen, now)
                if rebuilt is None:
                    return frozen
                await repository.freeze(message.id, rebuilt.to_json(), again=True)
            return rebuilt
        async with self.ctx.sessions() as session, session.begin():
            repository = OutboxRepository(session)
            built = await build(repository, client, _message(message), self.ctx.clock())
            if isinstance(built, Request):
                await repository.freeze(message.id, built.to_json())
        return built

    async def _deliver(
        self, client: stripe.StripeClient, message: OutboxMessage, report: DrainReport
    ) -> None:
        worker = self.ctx.worker_id
        try:
            stripe_id = await self.send(client, message)
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
            if await OutboxRepository(session).mark_sent(
                message.id, worker, stripe_id, self.ctx.clock()
            ):
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


def _message(row: OutboxMessage) -> Message:
    try:
        return read_message(row.kind, row.payload, row.customer_id)
    except UnreadableMessage as error:
        raise StripeFailure(str(error), permanent=True) from None


async def _remember(
    repository: OutboxRepository, message: Message, stripe_id: str, ctx: BillingContext
) -> None:
    """Keep the Stripe ids later messages need (they are built from ours)."""
    if isinstance(message, CustomerCreate):
        await CustomerRepository(repository.session).set_stripe_id(message.customer_id, stripe_id)
    elif isinstance(message, SubscriptionCreate):
        subscriptions = SubscriptionRepository(repository.session)
        await subscriptions.set_stripe_id(message.subscription_id, stripe_id, ctx.clock())
