"""drop catalog_versions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:20:00

``catalog_versions`` was to record each plan version's fingerprint when first seen, so an
edit in place of a published version could be refused. Nothing ever wrote or read it (a
promise the code did not keep): gone, with ``Plan.fingerprint``. Refusing such edits needs
a definition of which fields are the deal a customer holds (a price, yes; availability,
no), which is its own piece of work.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("catalog_versions")


def downgrade() -> None:
    op.create_table(
        "catalog_versions",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "version", name=op.f("pk_catalog_versions")),
    )
