"""``/api/v1``: an instance's backups: list, take, read, download, restore.

A backup or restore waits for another one of the same instance (or its update) for a
few seconds, then answers 409; an engine that does not answer is a 503.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from portal.operator.api.auth import api_writers
from portal.operator.api.schemas_backups import BackupOut, RestoreOut
from portal.web.downloads import archive_download
from portal.web.guards import viewer_of
from portal.web.services import ServicesDep

_PATH = "/instances/{instance_id:str}/backups"


@get(_PATH, summary="An instance's backups, newest first")
async def list_backups(services: ServicesDep, instance_id: FromPath[str]) -> list[BackupOut]:
    provisioner = await services.provisioner()
    return [BackupOut.of(backup) for backup in await provisioner.backups.list(instance_id)]


@post(
    _PATH,
    guards=[api_writers],
    status_code=HTTP_201_CREATED,
    summary="Back an instance's data up now, while it runs",
    description=(
        "Answers once the archive is stored. 409 while another backup, restore or update "
        "of the instance runs, or when the archive cannot be written (the detail says why, "
        "e.g. a full disk)."
    ),
)
async def take_backup_api(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> BackupOut:
    provisioner = await services.provisioner()
    backup = await provisioner.backups.take(instance_id, actor=viewer_of(request).email)
    return BackupOut.of(backup)


@get(_PATH + "/{backup_id:str}", summary="One backup of an instance")
async def get_backup(
    services: ServicesDep, instance_id: FromPath[str], backup_id: FromPath[str]
) -> BackupOut:
    provisioner = await services.provisioner()
    return BackupOut.of(await provisioner.backups.get(instance_id, backup_id))


@get(
    _PATH + "/{backup_id:str}/archive",
    summary="Download a backup's archive (a tar, or tar.gz when compressed)",
    description=(
        "Streamed; X-Content-SHA256 is its checksum. 409 when the backup did not succeed "
        "or its archive is missing from the storage."
    ),
    responses={
        HTTP_200_OK: ResponseSpec(
            data_container=bytes,
            media_type="application/octet-stream",
            description="The archive",
            generate_examples=False,
        )
    },
)
async def download_backup_api(
    services: ServicesDep, instance_id: FromPath[str], backup_id: FromPath[str]
) -> Stream:
    provisioner = await services.provisioner()
    download = await provisioner.backups.download(instance_id, backup_id)
    return archive_download(download, "application/octet-stream")


@post(
    _PATH + "/{backup_id:str}/restore",
    guards=[api_writers],
    status_code=HTTP_200_OK,
    summary="Restore a backup into its instance, health-gated",
    description=(
        "The archive's size and checksum are checked first (409 if damaged: nothing is "
        "touched). The instance stops, its volumes are replaced, and it starts on them; "
        "restored is false when it did not become healthy (detail says why). 409 while "
        "another backup, restore or update of the instance runs, or if it is not running."
    ),
)
async def restore_backup_api(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    instance_id: FromPath[str],
    backup_id: FromPath[str],
) -> RestoreOut:
    provisioner = await services.provisioner()
    outcome = await provisioner.backups.restore(
        instance_id, backup_id, actor=viewer_of(request).email
    )
    return RestoreOut.of(outcome)


BACKUP_OPERATIONS = [
    list_backups,
    take_backup_api,
    get_backup,
    download_backup_api,
    restore_backup_api,
]
