"""What changed between two catalogs, and whether existing customers feel it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from plans import Catalog, load_catalog
from plans.diff import Change, ChangeKind, FieldChange, diff_catalogs
from tests.fixtures.catalog import (
    CODE_REVIEW,
    DEVELOPER_V2,
    MIGRATE,
    append_plan,
    copy_sample,
    edit_file,
    remove_plan,
)


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load_catalog()


def _diff(sample: Catalog, tmp_path: Path, edit: Callable[[Path], None]) -> list[Change]:
    new = copy_sample(tmp_path / "new")
    edit(new)
    return diff_catalogs(sample, load_catalog(new))


def test_same_catalog_has_no_changes(sample: Catalog, tmp_path: Path) -> None:
    assert _diff(sample, tmp_path, lambda new: None) == []


def test_new_plan_affects_nobody(sample: Catalog, tmp_path: Path) -> None:
    changes = _diff(sample, tmp_path, lambda new: append_plan(new / "services.yaml", CODE_REVIEW))

    assert changes == [
        Change(ChangeKind.ADDED, "code-review", 1, False, "new plan: no existing customers")
    ]


def test_new_version_without_migrate_date_grandfathers(sample: Catalog, tmp_path: Path) -> None:
    changes = _diff(sample, tmp_path, lambda new: append_plan(new / "services.yaml", DEVELOPER_V2))

    assert changes == [
        Change(
            ChangeKind.ADDED,
            "developer-service",
            2,
            False,
            "new version for new customers; existing customers keep theirs (grandfathered)",
        )
    ]


def test_new_version_with_migrate_date_moves_holders(sample: Catalog, tmp_path: Path) -> None:
    entry = DEVELOPER_V2 + MIGRATE
    changes = _diff(sample, tmp_path, lambda new: append_plan(new / "services.yaml", entry))

    assert changes == [
        Change(
            ChangeKind.ADDED,
            "developer-service",
            2,
            True,
            "customers on earlier versions move to version 2 from 2027-03-01",
        )
    ]


def test_removed_version_affects_its_holders(sample: Catalog, tmp_path: Path) -> None:
    (change,) = _diff(
        sample, tmp_path, lambda new: remove_plan(new / "server-hosting.yaml", "server-m")
    )

    assert (change.kind, change.plan_id, change.version) == (ChangeKind.REMOVED, "server-m", 1)
    assert change.affects_existing
    assert "close it with available.until instead" in change.impact


def test_price_changed_in_place_affects_holders(sample: Catalog, tmp_path: Path) -> None:
    def raise_price(new: Path) -> None:
        edit_file(new / "server-hosting.yaml", 'amount: "24.00"', 'amount: "26.00"')

    (change,) = _diff(sample, tmp_path, raise_price)

    assert (change.kind, change.plan_id, change.version) == (ChangeKind.CHANGED, "server-m", 1)
    assert change.affects_existing
    assert change.impact == (
        "existing customers on version 1 are affected at once (pricing.amount.minor); "
        "publish version 2 instead to grandfather them"
    )
    assert change.fields == (FieldChange("pricing.amount.minor", 2400, 2600),)


def test_description_change_affects_nobody(sample: Catalog, tmp_path: Path) -> None:
    def reword(new: Path) -> None:
        edit_file(
            new / "application-hosting.yaml",
            "run and kept up to date for you.",
            "run, patched and kept up to date for you.",
        )

    (change,) = _diff(sample, tmp_path, reword)

    assert (change.kind, change.plan_id, change.affects_existing) == (
        ChangeKind.CHANGED,
        "app-starter",
        False,
    )
    assert change.impact == (
        "only how the plan is offered changed; existing customers are not affected"
    )
    assert [field.field for field in change.fields] == ["description"]


def test_application_version_update_is_included(sample: Catalog, tmp_path: Path) -> None:
    def update(new: Path) -> None:
        edit_file(
            new / "application-hosting.yaml",
            "environment: {DOCKYARD_TIER: business}\n",
            'environment: {DOCKYARD_TIER: business}\n      version: "2"\n',
        )

    (change,) = _diff(sample, tmp_path, update)

    assert (change.plan_id, change.affects_existing) == ("app-business", True)
    assert change.impact == (
        "existing instances are updated to the new application version (included)"
    )
    assert change.fields == (FieldChange("application.image.version", "1", "2"),)


def test_changes_come_in_plan_order(sample: Catalog, tmp_path: Path) -> None:
    def several(new: Path) -> None:
        append_plan(new / "services.yaml", CODE_REVIEW)
        remove_plan(new / "server-hosting.yaml", "server-m")
        edit_file(new / "support.yaml", 'amount: "390.00"', 'amount: "420.00"')

    changes = _diff(sample, tmp_path, several)

    assert [(c.plan_id, c.kind.value) for c in changes] == [
        ("code-review", "added"),
        ("server-m", "removed"),
        ("support-flat", "changed"),
    ]
