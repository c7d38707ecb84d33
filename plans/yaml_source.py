"""Untrusted YAML in, a located tree out.

PyYAML's composer gives nodes with positions; we never run a constructor, so no tag can
build a Python object. Walking the node graph ourselves lets us refuse non-standard tags,
report duplicate keys (PyYAML silently keeps the last), honour ``<<`` merge keys, and put
a hard budget on alias expansion so a "billion laughs" file stops after a few thousand
nodes instead of exhausting memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from plans.errors import Problem

_STD = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(
    _STD + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_MAP, _SEQ, _MERGE = _STD + "map", _STD + "seq", _STD + "merge"
# libyaml's composer when PyYAML has it (several times faster); both give positioned nodes.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_ALIAS_EXPANSION = 10_000
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Mark:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Scalar:
    text: str
    tag: str
    mark: Mark

    @property
    def kind(self) -> str:
        """The YAML type name as an operator would say it: "str", "int", "null"..."""
        return self.tag.removeprefix(_STD)


@dataclass(frozen=True, slots=True)
class Mapping:
    entries: tuple[tuple[Scalar, Value], ...]
    mark: Mark


@dataclass(frozen=True, slots=True)
class Sequence:
    items: tuple[Value, ...]
    mark: Mark


Value = Scalar | Mapping | Sequence


class _Refused(Exception):
    def __init__(self, mark: Mark, message: str) -> None:
        self.mark = mark
        self.message = message


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.expanded = 0

    def problem(self, mark: Mark, message: str) -> None:
        self.problems.append(Problem(self.file, mark.line, mark.column, None, "", message))

    def walk(self, node: yaml.Node, depth: int = 0, via_alias: bool = False) -> Value:
        if depth > MAX_DEPTH:
            raise _Refused(_mark(node), f"nested deeper than {MAX_DEPTH} levels")
        # A node met a second time was reached through an alias: its copy costs budget.
        via_alias = via_alias or id(node) in self.seen
        self.seen.add(id(node))
        if via_alias:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise _Refused(
                    _mark(node),
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes; "
                    "the catalog refuses alias bombs",
                )
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in SCALAR_TAGS:
                self.problem(_mark(node), _tag_message(node.tag))
                return Scalar(str(node.value), _STD + "str", _mark(node))
            return Scalar(str(node.value), node.tag, _mark(node))
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.problem(_mark(node), _tag_message(node.tag))
            return Sequence(
                tuple(self.walk(item, depth + 1, via_alias) for item in node.value), _mark(node)
            )
        assert isinstance(node, yaml.MappingNode)
        if node.tag != _MAP:
            self.problem(_mark(node), _tag_message(node.tag))
        return self.mapping(node, depth, via_alias)

    def mapping(self, node: yaml.MappingNode, depth: int, via_alias: bool) -> Mapping:
        merged: dict[str, tuple[Scalar, Value]] = {}
        explicit: dict[str, tuple[Scalar, Value]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self.merge_sources(value_node, depth, via_alias):
                    for key, value in source.entries:
                        merged.setdefault(key.text, (key, value))
                continue
            key_value = self.walk(key_node, depth + 1, via_alias)
            if not isinstance(key_value, Scalar):
                self.problem(key_value.mark, "keys must be plain words, not lists or mappings")
                continue
            key = key_value
            if key.text in explicit:
                first = explicit[key.text][0].mark
                self.problem(
                    key.mark,
                    f"duplicate key {key.text!r} (first written at line {first.line}); "
                    "each key may appear once",
                )
                continue
            explicit[key.text] = (key, self.walk(value_node, depth + 1, via_alias))
        # Explicit keys win over merged ones, as YAML's merge-key spec says.
        entries = {**merged, **explicit}
        return Mapping(tuple(entries.values()), _mark(node))

    def merge_sources(self, node: yaml.Node, depth: int, via_alias: bool) -> list[Mapping]:
        value = self.walk(node, depth + 1, via_alias)
        sources = value.items if isinstance(value, Sequence) else (value,)
        mappings = [source for source in sources if isinstance(source, Mapping)]
        if len(mappings) != len(sources):
            self.problem(value.mark, "'<<' merges mappings only (an alias to a mapping)")
        return mappings


def _tag_message(tag: str) -> str:
    shown = tag.replace(_STD, "!!")
    return f"tag {shown!r} is not allowed; the catalog accepts plain YAML values only"


def compose(text: str, file: str) -> tuple[Value | None, list[Problem]]:
    """Parse one YAML document into a located tree, with every problem found."""
    walker = _Walker(file)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = error.problem or error.context or "unreadable YAML"
        if error.context and error.context_mark and error.problem:
            problem += f" ({error.context} started at line {error.context_mark.line + 1})"
        return None, [Problem(file, line, column, None, "", f"YAML syntax: {problem}")]
    except yaml.YAMLError as error:
        return None, [Problem(file, 1, 1, None, "", f"YAML syntax: {error}")]
    except RecursionError:
        return None, [Problem(file, 1, 1, None, "", f"nested deeper than {MAX_DEPTH} levels")]
    if node is None:
        return None, walker.problems
    try:
        tree = walker.walk(node)
    except _Refused as refused:
        walker.problem(refused.mark, refused.message)
        return None, walker.problems
    return tree, walker.problems
