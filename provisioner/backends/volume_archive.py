"""An instance's named volumes, read as a tar stream and written back from one.

The engine does the archiving: a helper container that mounts the volumes is created
(never started, so the application keeps running and nothing runs in the helper) and the
engine's archive endpoint (``docker cp``) streams its mount points out or in. The helper
uses the instance's own image, which is on the engine by definition: no image is pulled.

Each volume is archived on its own (its mount point is the tar's root, named after the
plan's volume) and the streams are joined into one tar: the root entry then carries the
volume's own metadata, so the same data always gives the same bytes.

On Swarm the instance's volumes are local volumes of the node its task runs on; the
helper is a plain container on the engine Dockyard talks to, so this reaches them on a
single-node swarm (or wherever that engine's node holds them).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

import docker.errors
import docker.types

from provisioner.backends.base import (
    CUSTOMER_LABEL,
    INSTANCE_LABEL,
    NAMESPACE_LABEL,
    VolumeMount,
    WorkloadSpec,
)
from provisioner.backends.engine_errors import EngineErrors, explanation
from provisioner.backends.engine_terms import volume_labels, volume_name
from provisioner.errors import BackendError

HELPER_LABEL = "dockyard.helper"
MOUNT_ROOT = "/dockyard-volumes"
BLOCK = 512
Chunk = bytes | memoryview  # what a stream passes on: views of the engine's chunks
END_OF_ARCHIVE = bytes(2 * BLOCK)
# A volume whose last user (a Swarm task) is still going away cannot be removed yet.
VOLUME_BUSY_SECONDS = 20.0


class VolumeArchive:
    def __init__(self, api: Any, errors: EngineErrors, namespace: str) -> None:
        self._api = api
        self._errors = errors
        self._namespace = namespace

    def export(self, spec: WorkloadSpec) -> Iterator[Chunk]:
        """The instance's volumes as one tar, in chunks, read while the application runs."""
        subject = f"instance {spec.instance_id}"
        with self._errors.translated(subject):
            self._require_volumes(spec)
            helper = self._helper(spec, read_only=True)
        try:
            streams = (self._volume_tar(helper, volume) for volume in spec.volumes)
            with self._errors.translated(subject):
                yield from joined(streams)
        finally:
            self._remove(helper)

    def replace(self, spec: WorkloadSpec, chunks: Iterable[bytes]) -> None:
        """Empty the instance's volumes and fill them from a tar made by ``export``.

        Emptied by removing and re-creating each volume (with its labels): the caller has
        removed every workload that mounts them.
        """
        subject = f"instance {spec.instance_id}"
        with self._errors.translated(subject):
            for volume in spec.volumes:
                self._recreate(spec, volume)
            helper = self._helper(spec, read_only=False)
            try:
                url = self._api._url("/containers/{0}/archive", helper)
                params = {"path": MOUNT_ROOT, "copyUIDGID": "1"}  # keep owners as they were
                answer = self._api._put(url, params=params, data=iter(chunks))
                self._api._raise_for_status(answer)
            finally:
                self._remove(helper)

    def _helper(self, spec: WorkloadSpec, *, read_only: bool) -> str:
        mounts = [
            docker.types.Mount(
                target=f"{MOUNT_ROOT}/{volume.name}",
                source=volume_name(spec.instance_id, volume.name),
                type="volume",
                read_only=read_only,
            )
            for volume in spec.volumes
        ]
        created = self._api.create_container(
            spec.image,
            name=f"dockyard-{spec.instance_id}-backup-{secrets.token_hex(3)}",
            labels={
                HELPER_LABEL: "backup",
                NAMESPACE_LABEL: self._namespace,
                INSTANCE_LABEL: spec.instance_id,
                CUSTOMER_LABEL: spec.customer_ref,
            },
            network_disabled=True,
            host_config=self._api.create_host_config(mounts=mounts),
        )
        helper: str = created["Id"]
        return helper

    def _require_volumes(self, spec: WorkloadSpec) -> None:
        """A mount would make a missing volume, empty and unlabelled: say so instead."""
        for volume in spec.volumes:
            name = volume_name(spec.instance_id, volume.name)
            try:
                self._api.inspect_volume(name)
            except docker.errors.NotFound:
                raise BackendError(
                    f"instance {spec.instance_id} has no volume {name} on the engine: "
                    "nothing to back up"
                ) from None

    def _volume_tar(self, helper: str, volume: VolumeMount) -> Iterator[bytes]:
        stream, _ = self._api.get_archive(helper, f"{MOUNT_ROOT}/{volume.name}")
        yield from stream

    def _recreate(self, spec: WorkloadSpec, volume: VolumeMount) -> None:
        name = volume_name(spec.instance_id, volume.name)
        deadline = time.monotonic() + VOLUME_BUSY_SECONDS
        while True:
            try:
                self._api.remove_volume(name)
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError as error:
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"instance {spec.instance_id}: volume {name} cannot be emptied "
                        f"({explanation(error)}); a workload still uses it"
                    ) from error
                time.sleep(0.2)
        self._api.create_volume(name, labels=volume_labels(spec, self._namespace))

    def _remove(self, helper: str) -> None:
        with contextlib.suppress(docker.errors.APIError, OSError):
            self._api.remove_container(helper, force=True)


def joined(streams: Iterable[Iterable[bytes]]) -> Iterator[Chunk]:
    """Several tar streams as one: each one's end-of-archive blocks are dropped, and one
    end-of-archive closes the whole. Chunks are passed on as views, not copies (copying
    them cost a quarter of a backup's time)."""
    tail_size = len(END_OF_ARCHIVE)
    for stream in streams:
        held = b""  # the last bytes seen: the end-of-archive, unless more follows
        for chunk in stream:
            if len(chunk) >= tail_size:
                if held:
                    yield held
                view = memoryview(chunk)
                yield view[:-tail_size]
                held = bytes(view[-tail_size:])
            else:
                held += chunk
                if len(held) > tail_size:
                    yield held[:-tail_size]
                    held = held[-tail_size:]
        if held != END_OF_ARCHIVE:
            # Go's tar writer ends with exactly two zero blocks; anything else is not a tar
            # the engine wrote, and joining would corrupt it.
            raise BackendError(f"the engine's archive ended unexpectedly ({len(held)} bytes)")
    yield END_OF_ARCHIVE
