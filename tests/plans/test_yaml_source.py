"""Untrusted YAML: no tag builds an object, aliases and nesting have a budget, merges work."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from plans import CatalogInvalid, load_catalog
from plans.money import Money
from plans.yaml_source import MAX_ALIAS_EXPANSION, MAX_DEPTH
from tests.fixtures.catalog import (
    FILE,
    add_line,
    catalog_file,
    line_of,
    load_text,
    only_problem,
    plan_entry,
    plan_yaml,
    problems_in,
    set_block,
    set_line,
)

SERVER = plan_yaml("server_hosting")
TAG_REFUSED = "is not allowed; the catalog accepts plain YAML values only"


def test_python_object_tag_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned-XYZ"
    evil = f'x-evil: !!python/object/apply:os.system ["touch {marker}"]\n'
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "evil.yaml").write_text(evil + SERVER, encoding="utf-8")

    with pytest.raises(CatalogInvalid) as raised:
        load_catalog(catalog)

    assert [(p.line, p.column, p.plan, p.message) for p in raised.value.problems] == [
        (1, 9, None, f"tag '!!python/object/apply:os.system' {TAG_REFUSED}")
    ]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!foo bar", "!foo"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
    ],
)
def test_non_standard_tags_are_refused(value: str, shown: str) -> None:
    problem = only_problem(f"x-custom: {value}\n" + SERVER)

    assert problem.message == f"tag {shown!r} {TAG_REFUSED}"
    assert (problem.line, problem.column, problem.plan) == (1, 11, None)


def test_tag_inside_a_plan_names_the_plan() -> None:
    text = set_line(SERVER, "name:", "name: !foo Server")

    problem = only_problem(text)

    assert problem.message == f"tag '!foo' {TAG_REFUSED}"
    assert (problem.plan, problem.line, problem.column) == (
        "server-test",
        line_of(text, "name:"),
        11,
    )


def test_billion_laughs_is_refused_by_the_alias_budget() -> None:
    # 9 levels of 9 aliases: 9**9 (387 million) strings if expanded.
    levels = "abcdefghi"
    lines = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in pairwise(levels):
        lines.append(f"x-{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    bomb = "\n".join(lines) + "\n" + SERVER

    problem = only_problem(bomb)

    assert problem.message == (
        f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes; the catalog refuses alias bombs"
    )
    assert (problem.file, problem.plan) == (FILE, None)


def test_a_few_aliases_are_fine() -> None:
    text = "x-tier: &tier Test Server\n" + set_line(SERVER, "name:", "name: *tier")

    assert load_text(text).get("server-test").name == "Test Server"


def test_self_referencing_alias_is_refused_not_a_hang() -> None:
    problem = only_problem("x-loop: &loop [*loop]\n" + SERVER)

    assert problem.message == f"nested deeper than {MAX_DEPTH} levels"
    assert (problem.line, problem.plan) == (1, None)


@pytest.mark.parametrize(
    "nested",
    [
        "x-deep: " + "[" * 100 + "]" * 100 + "\n",
        "x-deep:\n" + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 101)),
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused(nested: str) -> None:
    problem = only_problem(nested + SERVER)

    assert problem.message == f"nested deeper than {MAX_DEPTH} levels"
    assert problem.plan is None


def test_duplicate_key_names_the_first_one() -> None:
    text = add_line(SERVER, "name:", "name: Server Again")

    problem = only_problem(text)

    first = line_of(text, "name: Test Server")
    assert problem.message == (
        f"duplicate key 'name' (first written at line {first}); each key may appear once"
    )
    # The raw YAML walk knows the line and plan but not the field path.
    assert (problem.plan, problem.field) == ("server-test", "")
    assert (problem.line, problem.column) == (line_of(text, "name: Server Again"), 5)


def test_yaml_syntax_error_has_its_line() -> None:
    text = set_line(SERVER, "name:", "name: [Test Server")

    problem = only_problem(text)

    name_line = line_of(text, "name: [Test Server")
    assert problem.message == (
        "YAML syntax: did not find expected ',' or ']' "
        f"(while parsing a flow sequence started at line {name_line})"
    )
    # libyaml notices on the next line, where the unclosed list meets "server:".
    assert problem.line == line_of(text, "server:")
    assert problem.plan is None


PRICE_ANCHOR = """\
x-monthly: &monthly
  currency: EUR
  amount: "1.00"
  interval: month
"""


def test_merge_keys_fill_in_and_explicit_keys_win() -> None:
    entry = set_block(plan_entry("server_hosting"), "pricing:", "pricing:")
    entry = add_line(entry, "pricing:", '  <<: *monthly\n  amount: "9.00"')
    text = catalog_file(entry, header=PRICE_ANCHOR)

    pricing = load_text(text).get("server-test").pricing

    assert pricing.amount == Money("EUR", 900)  # explicit, not the merged "1.00"
    assert pricing.interval.value == "month"  # merged


def test_merge_of_a_list_of_mappings() -> None:
    header = PRICE_ANCHOR + "x-trial: &trial\n  trial_months: 2\n"
    entry = set_block(plan_entry("server_hosting"), "pricing:", "pricing:")
    entry = add_line(entry, "pricing:", "  <<: [*monthly, *trial]")

    pricing = load_text(catalog_file(entry, header=header)).get("server-test").pricing

    assert (pricing.amount, pricing.trial_months) == (Money("EUR", 100), 2)


def test_merging_something_other_than_a_mapping_is_refused() -> None:
    entry = add_line(plan_entry("server_hosting"), "currency:", "<<: [EUR]")
    text = catalog_file(entry)

    problems = problems_in((FILE, text))

    assert [(p.line, p.message) for p in problems] == [
        (line_of(text, "<<:"), "'<<' merges mappings only (an alias to a mapping)")
    ]
