"""Backups on the portal: the operator's and the customer's instance pages, and the
operator API; a customer reaches only their own instance's backups (404 otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.accounts.models import Role
from provisioner import Backup
from tests.fixtures.portal import PASSWORD, Portal
from tests.portal.operator.api.test_api import Api, token_for
from tests.portal.operator.test_pages import follow, hosted

pytestmark = [pytest.mark.docker, pytest.mark.backup]


def backups_of(portal: Portal, instance_id: str) -> list[Backup]:
    async def listed() -> list[Backup]:
        provisioner = await portal.services.provisioner()
        return await provisioner.backups.list(instance_id)

    return portal.run(listed)


def archive_of(portal: Portal, backup: Backup) -> bytes:
    return (Path(portal.settings.provisioner.backup_dir) / backup.key).read_bytes()


def test_an_operator_takes_downloads_and_restores_from_the_instance_page(
    portal: Portal,
) -> None:
    _, instance = hosted(portal)
    portal.staff("ops@example.com")

    taken = portal.post(f"/ops/instances/{instance.id}/backups")

    assert "Backup b" in follow(portal, taken)
    page = portal.get(f"/ops/instances/{instance.id}").text
    assert 'id="h-backups"' in page
    assert "manual" in page
    # The worker's tick took a scheduled one too, at the same (frozen) moment.
    backup = next(b for b in backups_of(portal, instance.id) if b.kind == "manual")
    download = portal.get(f"/ops/instances/{instance.id}/backups/{backup.id}/download")
    assert download.status_code == 200
    assert download.content == archive_of(portal, backup)
    assert download.headers["x-content-sha256"] == backup.sha256
    assert "attachment" in download.headers["content-disposition"]
    restored = portal.post(f"/ops/instances/{instance.id}/backups/{backup.id}/restore")
    assert "data restored from backup" in follow(portal, restored)
    missing = portal.get(f"/ops/instances/{instance.id}/backups/bnosuch/download")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text


def test_a_customer_handles_their_own_backups_and_never_anothers(portal: Portal) -> None:
    _, ann_instance = hosted(portal, "ann@example.com")
    _, bob_instance = hosted(portal, "bob@example.com")
    portal.sign_in("ann@example.com", PASSWORD)

    page = portal.get(f"/instances/{ann_instance.id}").text
    assert "Back up now" in page
    taken = portal.post(f"/instances/{ann_instance.id}/backups")
    assert "Your data is backed up" in follow(portal, taken)
    mine = backups_of(portal, ann_instance.id)[0]
    download = portal.get(f"/instances/{ann_instance.id}/backups/{mine.id}/download")
    assert download.status_code == 200
    assert download.content == archive_of(portal, mine)
    restored = portal.post(f"/instances/{ann_instance.id}/backups/{mine.id}/restore")
    assert "Your data is restored" in follow(portal, restored)

    portal.tick()  # the worker backs up Bob's new instance (it is due at once)
    bobs = backups_of(portal, bob_instance.id)[0]
    for path in (
        f"/instances/{bob_instance.id}/backups/{bobs.id}/download",
        f"/instances/{ann_instance.id}/backups/{bobs.id}/download",  # his backup, her path
    ):
        assert portal.get(path).status_code == 404, path
    for path in (
        f"/instances/{bob_instance.id}/backups",
        f"/instances/{bob_instance.id}/backups/{bobs.id}/restore",
        f"/instances/{ann_instance.id}/backups/{bobs.id}/restore",
    ):
        assert portal.post(path).status_code == 404, path
    assert {b.kind for b in backups_of(portal, bob_instance.id)} == {"scheduled"}


def test_the_api_lists_takes_reads_downloads_and_restores(portal: Portal) -> None:
    _, instance = hosted(portal)
    api = Api(portal, token_for(portal, "ops@example.com"))
    base = f"/instances/{instance.id}/backups"

    taken = api.post(base)
    assert taken.status_code == 201, taken.text
    backup = taken.json()
    assert (backup["kind"], backup["status"], backup["actor"]) == (
        "manual",
        "succeeded",
        "ops@example.com",
    )
    listed = api.get(base)
    assert backup["id"] in [b["id"] for b in listed.json()]
    assert api.get(f"{base}/{backup['id']}").json() == backup
    archive = api.get(f"{base}/{backup['id']}/archive")
    assert archive.status_code == 200
    assert len(archive.content) == backup["size_bytes"]
    restored = api.post(f"{base}/{backup['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["restored"] is True

    # OPTIONS names both methods of the path (the Allow hook once matched no typed path).
    options = portal.client.options(f"/api/v1{base}", headers=api.headers)
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    assert api.get("/instances/inosuch/backups").status_code == 404
    assert api.get(f"{base}/bnosuch").status_code == 404
    assert api.post(f"{base}/bnosuch/restore").status_code == 404
    finance = Api(portal, token_for(portal, "fin@example.com", Role.FINANCE))
    assert finance.get(base).status_code == 200
    assert finance.post(base).status_code == 403
    assert finance.post(f"{base}/{backup['id']}/restore").status_code == 403
