"""each instance's own host port

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:30:00

``instances.address_port``: the host port an instance is published at, the same at every
start, so its address survives resume and update (the engine picked a new one each
time). Live instances keep the port they are reachable at now, where they have one; the
rest get theirs from 20000 up. A container created before keeps an engine-picked port
until its next update or re-creation, which publishes it at this one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_PORT = 20000


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_port", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_instances_address_port"), ["address_port"])
    instances = sa.table(
        "instances",
        sa.column("id", sa.String),
        sa.column("state", sa.String),
        sa.column("host_port", sa.Integer),
        sa.column("address_port", sa.Integer),
    )
    bind = op.get_bind()
    live = bind.execute(
        sa.select(instances.c.id, instances.c.host_port)
        .where(instances.c.state.not_in(["terminated", "purged"]))
        .order_by(instances.c.id)
    ).all()
    taken: set[int] = set()
    ports: dict[str, int] = {}
    for instance_id, host_port in live:
        if host_port is not None and host_port not in taken:
            ports[instance_id] = host_port
            taken.add(host_port)
    candidate = FIRST_PORT
    for instance_id, _ in live:
        if instance_id in ports:
            continue
        while candidate in taken:
            candidate += 1
        ports[instance_id] = candidate
        taken.add(candidate)
    for instance_id, port in ports.items():
        bind.execute(
            instances.update().where(instances.c.id == instance_id).values(address_port=port)
        )


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_instances_address_port"), type_="unique")
        batch_op.drop_column("address_port")
