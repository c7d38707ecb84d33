"""billing exactness: outbox streams and frozen requests, closed periods, Stripe link time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:00:00

- ``stripe_outbox.customer_id`` (a customer's messages are sent in order) is filled from
  each row's payload, or from its subscription's customer;
- ``stripe_outbox.request`` (the request frozen at the first attempt) stays empty for old
  rows: a pending one is built at its next attempt, as before;
- ``support_entries.billed_period`` becomes the period whose invoice carries the entry for
  every entry (it was set only for late ones): its own period where it was empty;
- ``subscriptions.stripe_linked_at``: when Stripe's subscription came to exist; for rows
  already linked, their start (the best the old schema knows);
- ``closed_periods``: new and empty; the worker closes invoiced periods from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_outbox = sa.table(
    "stripe_outbox",
    sa.column("id", sa.Integer),
    sa.column("payload", sa.JSON),
    sa.column("customer_id", sa.String),
)
_subscriptions = sa.table(
    "subscriptions",
    sa.column("id", sa.String),
    sa.column("customer_id", sa.String),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("stripe_subscription_id", sa.String),
    sa.column("stripe_linked_at", sa.DateTime(timezone=True)),
)
_entries = sa.table(
    "support_entries",
    sa.column("period", sa.String),
    sa.column("billed_period", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("stripe_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_id", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.create_index(
            "ix_stripe_outbox_stream", ["customer_id", "state", "id"], unique=False
        )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stripe_linked_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("support_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_entries_subscription_bills_in",
            ["subscription_id", "billed_period"],
            unique=False,
        )
    op.create_table(
        "closed_periods",
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("billable_minutes", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_closed_periods_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_closed_periods_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", "period", name=op.f("pk_closed_periods")),
    )
    with op.batch_alter_table("closed_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_closed_periods_customer_id"), ["customer_id"], unique=False
        )
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    owners = dict(bind.execute(sa.select(_subscriptions.c.id, _subscriptions.c.customer_id)).all())
    for row_id, payload in bind.execute(sa.select(_outbox.c.id, _outbox.c.payload)).all():
        payload = payload or {}
        customer = payload.get("customer_id") or owners.get(payload.get("subscription_id"), "")
        bind.execute(
            _outbox.update().where(_outbox.c.id == row_id).values(customer_id=str(customer))
        )
    bind.execute(
        _entries.update()
        .where(_entries.c.billed_period.is_(None))
        .values(billed_period=_entries.c.period)
    )
    bind.execute(
        _subscriptions.update()
        .where(_subscriptions.c.stripe_subscription_id.is_not(None))
        .values(stripe_linked_at=_subscriptions.c.started_at)
    )


def downgrade() -> None:
    op.drop_table("closed_periods")
    with op.batch_alter_table("support_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_support_entries_subscription_bills_in")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("stripe_linked_at")
    with op.batch_alter_table("stripe_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_stripe_outbox_stream")
        batch_op.drop_column("request")
        batch_op.drop_column("customer_id")
