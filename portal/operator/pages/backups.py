"""An instance's backups as operators handle them: take, download, restore."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from portal.web.downloads import archive_download
from portal.web.guards import viewer_of
from portal.web.rendering import flash, or_flash_refused, see_other
from portal.web.services import ServicesDep

_PATH = "/ops/instances/{instance_id:str}/backups"


@post(_PATH)
async def take_backup(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Redirect:
    provisioner = await services.provisioner()
    taking = provisioner.backups.take(instance_id, actor=viewer_of(request).email)
    if (backup := await or_flash_refused(request, taking)) is not None:
        flash(request, f"Backup {backup.id} taken ({backup.size_bytes} bytes).")
    return see_other(f"/ops/instances/{instance_id}")


@get(_PATH + "/{backup_id:str}/download")
async def download_backup(
    services: ServicesDep, instance_id: FromPath[str], backup_id: FromPath[str]
) -> Stream:
    provisioner = await services.provisioner()
    return archive_download(await provisioner.backups.download(instance_id, backup_id))


@post(_PATH + "/{backup_id:str}/restore")
async def restore_backup(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    instance_id: FromPath[str],
    backup_id: FromPath[str],
) -> Redirect:
    """Health-gated: the flash says whether the application serves on the restored data."""
    provisioner = await services.provisioner()
    restoring = provisioner.backups.restore(instance_id, backup_id, actor=viewer_of(request).email)
    if (outcome := await or_flash_refused(request, restoring)) is not None:
        flash(request, outcome.detail, "ok" if outcome.restored else "error")
    return see_other(f"/ops/instances/{instance_id}")


BACKUP_HANDLERS = [take_backup, download_backup, restore_backup]
