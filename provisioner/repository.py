"""Every query the provisioner makes, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from provisioner.errors import UnknownInstance
from provisioner.models import DesiredState, Instance, InstanceEvent, InstanceState


def _with_recent_events() -> Select[Instance, InstanceEvent]:
    """A customer's (``ref``) instances, oldest first, each with its latest ``limit``
    events, oldest first (an instance without events: one row, its event None). Built
    once: building a statement like this costs more than running it."""
    rank = (
        func.row_number()
        .over(partition_by=InstanceEvent.instance_id, order_by=InstanceEvent.id.desc())
        .label("rank")
    )
    ranked = (
        select(InstanceEvent, rank)
        .join(Instance, Instance.id == InstanceEvent.instance_id)
        .where(Instance.customer_ref == bindparam("ref"))
        .subquery()
    )
    event = aliased(InstanceEvent, ranked)
    return (
        select(Instance, event)
        .outerjoin(
            event, and_(event.instance_id == Instance.id, ranked.c.rank <= bindparam("limit"))
        )
        .where(Instance.customer_ref == bindparam("ref"))
        .order_by(Instance.created_at, Instance.id, event.id)
    )


_WITH_RECENT_EVENTS = _with_recent_events()


class InstanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, instance: Instance) -> None:
        self.session.add(instance)

    async def get(self, instance_id: str, customer_ref: str | None = None) -> Instance:
        """One instance; with ``customer_ref``, only if that customer owns it."""
        query = select(Instance).where(Instance.id == instance_id)
        if customer_ref is not None:
            query = query.where(Instance.customer_ref == customer_ref)
        instance = await self.session.scalar(query)
        if instance is None:
            raise UnknownInstance(instance_id)
        return instance

    async def find(
        self,
        *,
        customer_ref: str | None = None,
        plan_id: str | None = None,
        states: Sequence[InstanceState] | None = None,
    ) -> list[Instance]:
        query = select(Instance).order_by(Instance.created_at, Instance.id)
        if customer_ref is not None:
            query = query.where(Instance.customer_ref == customer_ref)
        if plan_id is not None:
            query = query.where(Instance.plan_id == plan_id)
        if states is not None:
            query = query.where(Instance.state.in_([state.value for state in states]))
        return list(await self.session.scalars(query))

    async def count_by_state(self) -> dict[str, int]:
        """How many instances are in each state (states with none are absent)."""
        rows = await self.session.execute(
            select(Instance.state, func.count()).group_by(Instance.state)
        )
        return dict(rows.all())

    async def live(self) -> list[Instance]:
        """Instances the reconciler looks after: everything not purged."""
        query = select(Instance).where(Instance.state != InstanceState.PURGED.value)
        return list(await self.session.scalars(query.order_by(Instance.id)))

    async def routable(self) -> list[tuple[str, str, int | None, str | None, str | None]]:
        """What the reverse proxy routes: (id, desired state, host port, host address,
        suspension reason) of every instance not terminated, as plain rows."""
        query = (
            select(
                Instance.id,
                Instance.desired_state,
                Instance.host_port,
                Instance.host_address,
                Instance.suspension_reason,
            )
            .where(Instance.desired_state != DesiredState.ABSENT.value)
            .order_by(Instance.id)
        )
        return [tuple(row) for row in await self.session.execute(query)]  # type: ignore[misc]

    async def claim(self, instance_id: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take the instance's lease unless another worker holds an unexpired one.

        A single conditional UPDATE, so two workers cannot both win on any database.
        """
        result = await self.session.execute(
            update(Instance)
            .where(Instance.id == instance_id)
            .where(
                or_(
                    Instance.lease_owner.is_(None),
                    Instance.lease_owner == owner,
                    Instance.lease_until < now,
                )
            )
            .values(lease_owner=owner, lease_until=now + ttl)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def record(
        self, instance: Instance, kind: str, message: str, at: datetime, actor: str = "system"
    ) -> InstanceEvent:
        event = InstanceEvent(
            instance_id=instance.id, kind=kind, message=message, at=at, actor=actor
        )
        self.session.add(event)
        return event

    async def events(self, instance_id: str, limit: int = 50) -> list[InstanceEvent]:
        query = (
            select(InstanceEvent)
            .where(InstanceEvent.instance_id == instance_id)
            .order_by(InstanceEvent.id.desc())
            .limit(limit)
        )
        return list(reversed(list(await self.session.scalars(query))))

    async def with_recent_events(
        self, customer_ref: str, limit: int = 50
    ) -> list[tuple[Instance, list[InstanceEvent]]]:
        """A customer's instances (as ``find``) with their ``events``, in one query."""
        found: dict[str, tuple[Instance, list[InstanceEvent]]] = {}
        rows = await self.session.execute(
            _WITH_RECENT_EVENTS, {"ref": customer_ref, "limit": limit}
        )
        for instance, event in rows:  # event None: an instance without events
            _, events = found.setdefault(instance.id, (instance, []))
            if event is not None:
                events.append(event)
        return list(found.values())

    async def customer_has_live_instances(self, customer_ref: str) -> bool:
        query = select(Instance.id).where(
            Instance.customer_ref == customer_ref,
            Instance.state.not_in([InstanceState.TERMINATED.value, InstanceState.PURGED.value]),
        )
        return (await self.session.scalar(query.limit(1))) is not None

    async def release(self, instance_id: str, owner: str) -> None:
        """Give the lease back, if ``owner`` still holds it."""
        await self.session.execute(
            update(Instance)
            .where(Instance.id == instance_id, Instance.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
