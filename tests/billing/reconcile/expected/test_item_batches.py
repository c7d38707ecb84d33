"""A period's invoice items are read in batches (memory stays bounded for a busy month):
every item of the period once, in id order, whatever the batch size."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from billing.models import OutboxMessage, OutboxState
from billing.outbox import OutboxKind
from billing.repository.reconcile import ReconcileRepository

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _item(
    n: int, period: str, customer: str, kind: OutboxKind = OutboxKind.INVOICE_ITEM
) -> OutboxMessage:
    return OutboxMessage(
        kind=kind.value,
        payload={"customer_id": customer, "entry_id": f"e{n}", "period": period},
        idempotency_key=f"k{n}",
        state=OutboxState.SENT.value,
        next_attempt_at=NOW,
        created_at=NOW,
    )


async def _batches(
    repo: ReconcileRepository, batch: int, customer: str | None = None
) -> list[list[str]]:
    return [
        [str(m.payload["entry_id"]) for m in found]
        async for found in repo.invoice_items("2026-11", customer, batch=batch)
    ]


@pytest.mark.parametrize(
    ("batch", "sizes"), [(2, [2, 2, 1]), (5, [5]), (1, [1, 1, 1, 1, 1]), (100, [5])]
)
async def test_every_item_of_the_period_once_in_id_order(
    session: AsyncSession, batch: int, sizes: list[int]
) -> None:
    session.add_all(
        [
            _item(0, "2026-11", "c1"),
            _item(1, "2026-10", "c1"),  # another period
            _item(2, "2026-11", "c2"),
            _item(3, "2026-11", "c1", OutboxKind.METER_EVENT),  # not an item
            _item(4, "2026-11", "c1"),
            _item(5, "2026-11", "c2"),
            _item(6, "2026-11", "c1"),
        ]
    )
    await session.flush()
    repo = ReconcileRepository(session)

    found = await _batches(repo, batch)

    assert [len(each) for each in found] == sizes
    assert [entry for each in found for entry in each] == ["e0", "e2", "e4", "e5", "e6"]
    assert await _batches(repo, 2, "c2") == [["e2", "e5"]]  # a full last batch: none empty


async def test_a_period_without_items_has_no_batch(session: AsyncSession) -> None:
    assert await _batches(ReconcileRepository(session), 2) == []
