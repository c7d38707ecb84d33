"""The catalog: looking plans up, what is offered on a day, which version a holder is on."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from plans import Catalog, PlanKind, UnknownPlan, load_catalog
from plans.errors import PlanUnavailable
from tests.fixtures.catalog import add_line, catalog_file, load_text, plan_entry


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load_catalog()


def _with(entry: str, *lines: str) -> str:
    for line in reversed(lines):
        entry = add_line(entry, "name:", line)
    return entry


def test_get_without_version_is_the_newest(sample: Catalog) -> None:
    assert sample.get("server-s").version == 2


def test_get_a_specific_version(sample: Catalog) -> None:
    plan = sample.get("server-s", 1)

    assert (plan.id, plan.version) == ("server-s", 1)


def test_get_an_unknown_plan(sample: Catalog) -> None:
    with pytest.raises(UnknownPlan, match=r"^plan 'server-xl' is not in the catalog$"):
        sample.get("server-xl")


def test_get_an_unknown_version(sample: Catalog) -> None:
    with pytest.raises(UnknownPlan) as raised:
        sample.get("server-s", 3)

    assert (raised.value.plan_id, raised.value.version) == ("server-s", 3)


def test_catalog_is_ordered_by_kind_then_id_then_version(sample: Catalog) -> None:
    keys = [(plan.kind, plan.id, plan.version) for plan in sample]
    kinds = list(PlanKind)

    assert keys == sorted(keys, key=lambda key: (kinds.index(key[0]), key[1], key[2]))
    assert "server-s" in sample
    assert "server-xl" not in sample
    assert len(sample) == 12


OFFERS = catalog_file(
    _with(plan_entry("server_hosting", plan_id="box"), "available: {until: 2027-01-01}"),
    _with(plan_entry("server_hosting", plan_id="box", version=2), "available: {from: 2027-01-01}"),
    _with(plan_entry("support_per_hour", plan_id="vip-support"), "visibility: hidden"),
    _with(plan_entry("service_package", plan_id="course"), "available: {from: 2030-01-01}"),
    plan_entry("service_per_hour", plan_id="consulting"),
)


def _offered(catalog: Catalog, on: date) -> list[tuple[str, int]]:
    return sorted(plan.key for plan in catalog.offered(on))


def test_offered_shows_the_newest_open_public_version() -> None:
    catalog = load_text(OFFERS)

    assert _offered(catalog, date(2026, 12, 31)) == [("box", 1), ("consulting", 1)]
    assert _offered(catalog, date(2027, 1, 1)) == [("box", 2), ("consulting", 1)]
    assert _offered(catalog, date(2030, 1, 1)) == [("box", 2), ("consulting", 1), ("course", 1)]


def test_hidden_plans_are_never_offered_but_can_be_looked_up() -> None:
    catalog = load_text(OFFERS)

    assert "vip-support" not in {plan.id for plan in catalog.offered(date(2027, 6, 1))}
    assert catalog.get("vip-support").visibility.value == "hidden"


def test_offered_by_kind() -> None:
    catalog = load_text(OFFERS)

    offered = catalog.offered(date(2027, 1, 1), kind=PlanKind.SERVICE)

    assert [plan.id for plan in offered] == ["consulting"]


def test_sample_server_s_version_2_is_offered_from_december(sample: Catalog) -> None:
    assert ("server-s", 1) in {plan.key for plan in sample.offered(date(2026, 11, 30))}
    assert ("server-s", 2) in {plan.key for plan in sample.offered(date(2026, 12, 1))}


def test_holder_keeps_version_1_until_the_migrate_date(sample: Catalog) -> None:
    assert sample.version_for_holder("server-s", 1, date(2026, 12, 31)).version == 1
    assert sample.version_for_holder("server-s", 1, date(2027, 1, 1)).version == 2
    assert sample.version_for_holder("server-s", 1, date(2030, 1, 1)).version == 2


def test_newer_version_without_migrate_date_leaves_holders_alone() -> None:
    catalog = load_text(
        catalog_file(
            plan_entry("service_per_hour"),
            plan_entry("service_per_hour", version=2),
            _with(
                plan_entry("service_per_hour", version=3),
                "migrate_existing_from: 2027-06-01",
            ),
        )
    )

    def held(version: int, on: date) -> int:
        return catalog.version_for_holder("service-test", version, on).version

    assert held(1, date(2027, 5, 31)) == 1  # version 2 exists, but grandfathers them
    assert held(2, date(2027, 5, 31)) == 2
    assert held(1, date(2027, 6, 1)) == 3  # version 3 moves every earlier holder
    assert held(2, date(2027, 6, 1)) == 3


def test_holder_of_an_unknown_version(sample: Catalog) -> None:
    with pytest.raises(UnknownPlan):
        sample.version_for_holder("server-s", 7, date(2027, 1, 1))


def test_catalog_is_immutable(sample: Catalog) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.plans = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample.versions("server-s")[0] = sample.get("server-m")  # type: ignore[index]
    assert isinstance(sample.plans, tuple)


def test_current_is_the_newest_version_open_on_the_day() -> None:
    catalog = load_catalog()

    assert catalog.current("server-s", date(2026, 11, 30)).version == 1
    assert catalog.current("server-s", date(2026, 12, 1)).version == 2


def test_current_names_a_plan_with_no_open_version(tmp_path: Path) -> None:
    text = catalog_file(
        add_line(plan_entry("server_hosting"), "name:", "available: {until: 2026-01-01}")
    )
    catalog = load_text(text)

    with pytest.raises(PlanUnavailable, match="has no version available on 2026-06-01"):
        catalog.current("server-test", date(2026, 6, 1))
