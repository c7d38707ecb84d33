"""instance domains

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:00:00

Customers' own domain names for their instances, which the reverse proxy serves and gets
certificates for (only for names listed here, of a live instance).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_instance_domains_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_instance_domains")),
    )
    op.create_index(
        op.f("ix_instance_domains_instance_id"), "instance_domains", ["instance_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_instance_domains_instance_id"), table_name="instance_domains")
    op.drop_table("instance_domains")
