"""instance host address

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:00:00

The swarm node an instance's port is published on, when that is not the engine's host:
the reverse proxy and the health probes reach it there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("host_address", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("host_address")
