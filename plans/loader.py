"""Loading a catalog directory: every file, every problem, one verdict."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from plans.catalog import Catalog
from plans.errors import CatalogInvalid, Problem
from plans.model import Plan
from plans.parse_plan import parse_file
from plans.reader import Context
from plans.settings import BUNDLED_CATALOG, DEFAULT_MAX_FILE_BYTES
from plans.yaml_source import compose

SUFFIXES = (".yaml", ".yml")


def load_catalog(
    directory: Path | str = BUNDLED_CATALOG,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Catalog:
    """Load and validate every ``*.yaml`` file in ``directory``.

    Raises :class:`CatalogInvalid` carrying every problem in every file.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise CatalogInvalid([_file_problem(folder, "catalog directory not found")])
    paths = sorted(path for path in folder.iterdir() if path.suffix in SUFFIXES)
    if not paths:
        raise CatalogInvalid([_file_problem(folder, "no *.yaml files in the catalog directory")])
    sources: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for path in paths:
        text = _read(path, max_file_bytes, problems)
        if text is not None:
            sources.append((str(path), text))
    return load_catalog_texts(sources, problems)


def load_catalog_texts(
    sources: Iterable[tuple[str, str]], problems: Iterable[Problem] = ()
) -> Catalog:
    """Build a catalog from ``(file name, YAML text)`` pairs."""
    found = list(problems)
    plans: list[Plan] = []
    for name, text in sources:
        tree, file_problems = compose(text, name)
        ctx = Context(name, file_problems)
        plans.extend(parse_file(tree, ctx))
        found.extend(ctx.problems)
    found.extend(_cross_plan_problems(plans))
    if found:
        raise CatalogInvalid(found)
    return Catalog(tuple(plans))


def _read(path: Path, limit: int, problems: list[Problem]) -> str | None:
    try:
        size = path.stat().st_size
        if size > limit:
            problems.append(
                _file_problem(path, f"file is {size} bytes; the limit is {limit} bytes")
            )
            return None
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(_file_problem(path, f"not UTF-8 text (byte {error.start})"))
    except OSError as error:
        problems.append(_file_problem(path, f"cannot be read: {error.strerror}"))
    return None


def _file_problem(path: Path, message: str) -> Problem:
    return Problem(str(path), 1, 1, None, "", message)


def _cross_plan_problems(plans: list[Plan]) -> list[Problem]:
    problems: list[Problem] = []
    first_seen: dict[tuple[str, int], Plan] = {}
    kinds: dict[str, Plan] = {}
    for plan in plans:
        where = (plan.source.file, plan.source.line, plan.source.column, plan.id)
        earlier = first_seen.setdefault(plan.key, plan)
        if earlier is not plan:
            problems.append(
                Problem(
                    *where,
                    "id",
                    (
                        f"duplicate plan id: version {plan.version} is already declared at "
                        f"{earlier.source}; a new price or change needs a new version number"
                    ),
                )
            )
            continue
        first_kind = kinds.setdefault(plan.id, plan)
        if first_kind.kind is not plan.kind:
            problems.append(
                Problem(
                    *where,
                    "kind",
                    (
                        f"{plan.kind.value!r} differs from version {first_kind.version} "
                        f"({first_kind.kind.value}, at {first_kind.source}); "
                        "all versions of a plan sell the same kind of thing"
                    ),
                )
            )
    return problems
