"""Loading a directory: every file, every problem in all of them, checks across plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from plans import CatalogInvalid, Problem, load_catalog
from tests.fixtures.catalog import (
    add_line,
    catalog_file,
    line_of,
    plan_entry,
    plan_yaml,
    problems_in,
    set_line,
)

SERVER = plan_yaml("server_hosting")


def _problems(directory: Path, **options: int) -> tuple[Problem, ...]:
    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(directory, **options)
    return raised.value.problems


def test_loads_every_yaml_and_yml_file_and_ignores_others(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVER, encoding="utf-8")
    (tmp_path / "b.yml").write_text(plan_yaml("service_package"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not: [valid", encoding="utf-8")

    catalog = load_catalog(tmp_path)

    assert catalog.ids == ("server-test", "service-test")
    assert catalog.get("server-test").source.file == str(tmp_path / "a.yaml")


def test_duplicate_plan_id_names_the_first_location() -> None:
    problems = problems_in(("a.yaml", SERVER), ("b.yaml", SERVER))

    assert [str(problem) for problem in problems] == [
        "b.yaml:2:5: plan 'server-test': id: duplicate plan id: version 1 is already declared "
        "at a.yaml:2; a new price or change needs a new version number"
    ]


def test_same_id_with_another_version_is_fine() -> None:
    problems = problems_in(
        ("a.yaml", SERVER),
        ("b.yaml", plan_yaml("server_hosting", version=2)),
        ("c.yaml", set_line(SERVER, "name:", "name: [unclosed")),
    )

    assert [problem.file for problem in problems] == ["c.yaml"]  # only the syntax error


def test_kind_differs_between_versions() -> None:
    first = plan_entry("server_hosting", plan_id="box")
    text = catalog_file(first, plan_entry("service_per_hour", plan_id="box", version=2))
    second_line = 1 + first.count("\n") + 1  # after "plans:" and the first plan

    (problem,) = problems_in(("box.yaml", text))

    assert problem.message == (
        "'service' differs from version 1 (server_hosting, at box.yaml:2); "
        "all versions of a plan sell the same kind of thing"
    )
    assert (problem.plan, problem.field) == ("box", "kind")
    assert (problem.line, problem.column) == (second_line, 5)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(SERVER, encoding="utf-8")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(plan_yaml("service_package", plan_id="schulung").encode() + b"# Gr\xfc\xdfe\n")

    (problem,) = _problems(tmp_path)

    assert problem.file == str(bad)
    assert problem.message.startswith("not UTF-8 text (byte ")
    assert (problem.line, problem.column, problem.plan) == (1, 1, None)


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(SERVER, encoding="utf-8")
    size = big.stat().st_size

    (problem,) = _problems(tmp_path, max_file_bytes=size - 1)

    assert problem.file == str(big)
    assert problem.message == f"file is {size} bytes; the limit is {size - 1} bytes"


def test_file_at_the_size_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "exact.yaml"
    path.write_text(SERVER, encoding="utf-8")

    assert len(load_catalog(tmp_path, max_file_bytes=path.stat().st_size)) == 1


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("catalog goes here", encoding="utf-8")

    (problem,) = _problems(tmp_path)

    assert problem.message == "no *.yaml files in the catalog directory"
    assert problem.file == str(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path / "nowhere")

    assert problem.message == "catalog directory not found"
    assert problem.file == str(tmp_path / "nowhere")


def test_a_file_of_only_comments_holds_no_plans(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SERVER, encoding="utf-8")
    (tmp_path / "drafts.yaml").write_text("# nothing yet\n", encoding="utf-8")

    assert load_catalog(tmp_path).ids == ("server-test",)


def test_every_problem_in_every_file_at_once(tmp_path: Path) -> None:
    support = plan_yaml("support_per_hour")
    support = set_line(support, "currency:", "currency: eur")
    support = set_line(support, "hours:", "hours: weekdays")
    server = add_line(SERVER, "name:", "descripton: Small")
    server = set_line(server, "memory_mb:", "memory_mb: 1 GB")
    (tmp_path / "b-support.yaml").write_text(support, encoding="utf-8")
    (tmp_path / "a-server.yaml").write_text(server, encoding="utf-8")
    (tmp_path / "c-fine.yaml").write_text(plan_yaml("service_package"), encoding="utf-8")

    problems = _problems(tmp_path)

    a, b = tmp_path / "a-server.yaml", tmp_path / "b-support.yaml"
    assert [(problem.file, problem.line, problem.field) for problem in problems] == [
        (str(a), line_of(server, "descripton:"), "descripton"),
        (str(a), line_of(server, "memory_mb:"), "resources.memory_mb"),
        (str(b), line_of(support, "hours:"), "coverage.hours"),
        (str(b), line_of(support, "currency:"), "pricing.currency"),
    ]
    assert str(problems[1]) == (
        f"{a}:{line_of(server, 'memory_mb:')}:18: plan 'server-test': resources.memory_mb: "
        "expected a whole number from 16 to 1048576, got str '1 GB'"
    )
    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(tmp_path)
    summary = str(raised.value).splitlines()
    assert summary[0] == "4 problems in the catalog"
    assert summary[1:] == [str(problem) for problem in problems]


def test_a_dangling_symlink_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")

    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(tmp_path)

    (problem,) = raised.value.problems
    assert problem.file.endswith("gone.yaml")
    assert problem.message == "cannot be read: No such file or directory"
