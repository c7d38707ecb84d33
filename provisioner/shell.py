"""A way into a running instance: a process in its workload, and its data on this host.

The portal's SSH gateway composes these with its customers' keys; the provisioner only
says where an instance runs and starts what it is asked to there.
"""

from __future__ import annotations

from provisioner.backends.base import ExecStream
from provisioner.context import ProvisionerContext
from provisioner.errors import InvalidTransition
from provisioner.models import InstanceState
from provisioner.repository import InstanceRepository
from provisioner.specs import SERVER_VOLUMES

DATA_VOLUME = SERVER_VOLUMES[0].name


class InstanceShell:
    def __init__(self, ctx: ProvisionerContext) -> None:
        self.ctx = ctx

    async def open(
        self,
        instance_id: str,
        command: list[str],
        *,
        tty: bool,
        size: tuple[int, int] | None = None,
        environment: dict[str, str] | None = None,
    ) -> ExecStream:
        """Start ``command`` in the instance's workload. Raises UnknownInstance,
        InvalidTransition (not running now) or a BackendError (the engine's)."""
        async with self.ctx.sessions() as session:
            instance = await InstanceRepository(session).get(instance_id)
        if instance.state != InstanceState.RUNNING.value or instance.workload_id is None:
            raise InvalidTransition(f"instance {instance_id} is not running")
        return await self.ctx.engine(
            self.ctx.backend.exec,
            instance.workload_id,
            command,
            tty=tty,
            size=size,
            environment=environment or {},
        )

    async def resize(self, stream: ExecStream, columns: int, rows: int) -> None:
        await self.ctx.engine(self.ctx.backend.resize_exec, stream.exec_id, columns, rows)

    async def exit_code(self, stream: ExecStream) -> int | None:
        return await self.ctx.engine(self.ctx.backend.exec_exit_code, stream.exec_id)

    async def hang_up(self, stream: ExecStream) -> int:
        """End what the session left running (its client went away), as a closed
        terminal would."""
        return await self.ctx.engine(self.ctx.backend.hang_up, stream.exec_id)

    async def data_path(self, instance_id: str) -> str:
        """The host directory of a server's data volume (``/data`` inside it)."""
        return await self.ctx.engine(self.ctx.backend.volume_path, instance_id, DATA_VOLUME)
