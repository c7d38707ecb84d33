"""support entries by customer and period

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:45:00

A customer's entries of a month (``LedgerRepository.entries``: the dashboard, on every
load) were read through the period index alone, which holds every customer's entries of
that month: the read grew with the number of customers. An index on both finds the
customer's own.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_support_entries_customer_period",
        "support_entries",
        ["customer_id", "period"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_support_entries_customer_period", table_name="support_entries")
