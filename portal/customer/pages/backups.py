"""A customer's backups of their own instance: take one, download one, restore one.

Every id is looked up as the signed-in customer's: another customer's instance or backup
is a 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from portal.customer.pages.common import customer_id_of
from portal.web.downloads import archive_download
from portal.web.guards import viewer_of
from portal.web.rendering import flash, or_flash_refused, see_other
from portal.web.services import ServicesDep

_PATH = "/instances/{instance_id:str}/backups"


@post(_PATH)
async def take_backup(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Redirect:
    provisioner = await services.provisioner()
    taking = provisioner.backups.take(
        instance_id, actor=viewer_of(request).email, customer_ref=customer_id_of(request)
    )
    if (backup := await or_flash_refused(request, taking)) is not None:
        flash(request, f"Your data is backed up ({backup.id}).")
    return see_other(f"/instances/{instance_id}")


@get(_PATH + "/{backup_id:str}/download")
async def download_backup(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    instance_id: FromPath[str],
    backup_id: FromPath[str],
) -> Stream:
    provisioner = await services.provisioner()
    download = await provisioner.backups.download(
        instance_id, backup_id, customer_ref=customer_id_of(request)
    )
    return archive_download(download)


@post(_PATH + "/{backup_id:str}/restore")
async def restore_backup(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    instance_id: FromPath[str],
    backup_id: FromPath[str],
) -> Redirect:
    provisioner = await services.provisioner()
    restoring = provisioner.backups.restore(
        instance_id, backup_id, actor=viewer_of(request).email, customer_ref=customer_id_of(request)
    )
    if (outcome := await or_flash_refused(request, restoring)) is not None:
        if outcome.restored:
            flash(request, "Your data is restored and your application runs on it.")
        else:
            flash(request, f"Restoring did not finish: {outcome.detail}", "error")
    return see_other(f"/instances/{instance_id}")


BACKUP_HANDLERS = [take_backup, download_backup, restore_backup]
