"""Reading a located YAML tree into typed values while collecting every problem.

A parser is a function from a :class:`Field` to a value, or ``None`` after it has
reported what is wrong. Nothing here raises for bad input, so one pass over a file
reports all of its problems at once.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from plans import currencies
from plans.errors import Problem
from plans.money import Money, MoneyError, parse_minor
from plans.yaml_source import Mapping, Scalar, Sequence, Value

__all__ = ["Mapping", "Scalar", "Sequence", "Value"]  # re-exported for the block parsers

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
Parser = Callable[["Field"], T | None]
_MISSING = object()
# ASCII digits only, and few enough that Decimal's 28-digit precision stays exact.
_NUMBER = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")


@dataclass(slots=True)
class Context:
    """Where problems go, and which plan they belong to."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    plan: str | None = None

    def report(self, node: Value, path: str, message: str) -> None:
        mark = node.mark
        self.problems.append(Problem(self.file, mark.line, mark.column, self.plan, path, message))


@dataclass(frozen=True, slots=True)
class Field:
    ctx: Context
    node: Value
    path: str

    def fail(self, message: str) -> None:
        self.ctx.report(self.node, self.path, message)

    def child(self, node: Value, name: str) -> Field:
        if not self.path or name.startswith("["):
            return Field(self.ctx, node, f"{self.path}{name}")
        path = f"{self.path}.{name}"
        return Field(self.ctx, node, path)


class Section:
    """A mapping whose keys are all declared up front, so a typo is caught by name."""

    def __init__(
        self,
        where: Field,
        allowed: Iterable[str],
        misplaced: dict[str, str] | None = None,
    ) -> None:
        self.where = where
        self.values: dict[str, Field] = {}
        allowed = tuple(allowed)
        if not isinstance(where.node, Mapping):
            where.fail(f"expected a mapping with keys {_listing(allowed)}, got {_kind(where.node)}")
            return
        hints = misplaced or {}
        for key, value in where.node.entries:
            child = where.child(value, key.text)
            if key.text in allowed:
                self.values[key.text] = child
            elif key.text in hints:
                where.ctx.report(key, child.path, hints[key.text])
            else:
                where.ctx.report(key, child.path, _unknown_key(key.text, allowed))

    def has(self, key: str) -> bool:
        return key in self.values

    def require(self, key: str, parse: Parser[T], hint: str = "") -> T | None:
        if key not in self.values:
            if not isinstance(self.where.node, Mapping):
                return None  # the wrong type is already reported; its keys are not "missing"
            path = self.where.child(self.where.node, key).path
            message = f"required field is missing{'; ' + hint if hint else ''}"
            self.where.ctx.report(self.where.node, path, message)
            return None
        return parse(self.values[key])

    def optional(self, key: str, parse: Parser[T], default: T) -> T | None:
        if key not in self.values:
            return default
        return parse(self.values[key])

    def field(self, key: str) -> Field | None:
        return self.values.get(key)


def _unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown field {key!r}; {suggestion}allowed: {_listing(allowed)}"


def _listing(options: Iterable[str]) -> str:
    return ", ".join(options)


def _kind(node: Value) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    return {"null": "nothing (empty value)", "bool": "a boolean"}.get(
        node.kind, f"{node.kind} {node.text!r}"
    )


def _scalar(where: Field, expected: str) -> Scalar | None:
    node = where.node
    if not isinstance(node, Scalar) or node.kind in ("null", "bool"):
        hint = " (YAML reads yes/no/on/off as booleans: quote it)" if _is_bool(node) else ""
        where.fail(f"expected {expected}, got {_kind(node)}{hint}")
        return None
    return node


def _is_bool(node: Value) -> bool:
    return isinstance(node, Scalar) and node.kind == "bool"


def text(pattern: str | None = None, description: str = "text") -> Parser[str]:
    compiled = re.compile(pattern) if pattern else None

    def parse(where: Field) -> str | None:
        node = _scalar(where, description)
        if node is None:
            return None
        value = node.text.strip()
        if not value:
            where.fail(f"must not be empty; expected {description}")
            return None
        if compiled and not compiled.fullmatch(value):
            where.fail(f"{value!r} is not valid; expected {description}")
            return None
        return value

    return parse


def integer(minimum: int, maximum: int) -> Parser[int]:
    def parse(where: Field) -> int | None:
        node = where.node
        if not isinstance(node, Scalar) or node.kind != "int":
            where.fail(f"expected a whole number from {minimum} to {maximum}, got {_kind(node)}")
            return None
        try:
            value = int(node.text.replace("_", ""), 0)
        except ValueError:  # YAML 1.1 ints int() refuses: 010 (octal), 1:30 (base 60)
            where.fail(
                f"expected a whole number from {minimum} to {maximum}, got {node.text!r}; "
                "write it without leading zeros or colons"
            )
            return None
        if not minimum <= value <= maximum:
            where.fail(f"{value} is out of range; allowed: {minimum} to {maximum}")
            return None
        return value

    return parse


def boolean(where: Field) -> bool | None:
    node = where.node
    if not isinstance(node, Scalar) or node.kind != "bool":
        where.fail(f"expected true or false, got {_kind(node)}")
        return None
    return node.text.lower() in ("true", "yes", "on", "y")


def _decimal(where: Field, expected: str) -> Decimal | None:
    node = where.node
    if not isinstance(node, Scalar) or node.kind not in ("int", "float", "str"):
        where.fail(f"expected {expected}, got {_kind(node)}")
        return None
    raw = node.text.strip()
    if not _NUMBER.match(raw):
        where.fail(f"{raw!r} is not valid; expected {expected}")
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        where.fail(f"{raw!r} is not valid; expected {expected}")
        return None


def scaled(unit: str, per_unit: int, minimum: int, maximum: int, result: str) -> Parser[int]:
    """A decimal count of ``unit`` stored as a whole number of ``result`` units.

    ``scaled("hours", 60, ...)`` reads "7.5" hours as 450 minutes and refuses "7.51".
    """

    def parse(where: Field) -> int | None:
        value = _decimal(where, f"a number of {unit}")
        if value is None:
            return None
        whole = value * per_unit
        if whole != whole.to_integral_value():
            where.fail(f"{value} {unit} is not a whole number of {result}")
            return None
        if not minimum <= whole <= maximum:
            low, high = Decimal(minimum) / per_unit, Decimal(maximum) / per_unit
            where.fail(f"{value} {unit} is out of range; allowed: {low:f} to {high:f} {unit}")
            return None
        return int(whole)

    return parse


def choice(options: type[E], allowed: Iterable[E] | None = None) -> Parser[E]:
    members = list(allowed if allowed is not None else options)
    names = [
        str(member.value) if isinstance(member.value, str) else member.name.lower()
        for member in members
    ]

    def parse(where: Field) -> E | None:
        node = _scalar(where, f"one of {_listing(names)}")
        if node is None:
            return None
        for member, name in zip(members, names, strict=True):
            if node.text == name:
                return member
        where.fail(f"{node.text!r} is not allowed; allowed: {_listing(names)}")
        return None

    return parse


def currency(where: Field) -> str | None:
    code = text(description="an ISO 4217 currency code such as EUR")(where)
    if code is None:
        return None
    if not currencies.is_known(code):
        upper = code.upper()
        hint = f" (codes are upper case: {upper!r})" if currencies.is_known(upper) else ""
        where.fail(f"unknown currency {code!r}{hint}; expected an ISO 4217 code such as EUR")
        return None
    return code


def money(currency_code: str | None, *, allow_zero: bool = True) -> Parser[Money]:
    """A decimal amount in major units, read exactly from its written text."""

    def parse(where: Field) -> Money | None:
        node = where.node
        if not isinstance(node, Scalar) or node.kind not in ("int", "float", "str"):
            where.fail(f'expected an amount such as "29.00", got {_kind(node)}')
            return None
        if currency_code is None:
            return None  # the currency already has its own error
        raw = node.text.strip()
        if raw.startswith("-"):
            where.fail(f"{raw} is negative; amounts must be zero or more")
            return None
        try:
            minor = parse_minor(raw, currency_code)
        except MoneyError as error:
            where.fail(f'{error}; write amounts like "29.00"')
            return None
        if minor == 0 and not allow_zero:
            where.fail("must be more than zero")
            return None
        return Money(currency_code, minor)

    return parse


def minor_units(currency_code: str | None) -> Parser[Money]:
    """An amount written as integer minor units (``amount_minor: 2900``)."""

    def parse(where: Field) -> Money | None:
        node = where.node
        if isinstance(node, Scalar) and node.kind == "int" and node.text.startswith("-"):
            where.fail(f"{node.text} is negative; amounts must be zero or more")
            return None
        value = integer(0, 10**12)(where)
        if value is None or currency_code is None:
            return None
        return Money(currency_code, value)

    return parse


def day(where: Field) -> date | None:
    node = _scalar(where, "a date such as 2027-01-31")
    if node is None:
        return None
    try:
        return date.fromisoformat(node.text.strip())
    except ValueError:
        where.fail(f"{node.text!r} is not a date; expected YYYY-MM-DD")
        return None


def clock_time(where: Field) -> time | None:
    node = _scalar(where, 'a time of day such as "02:00"')
    if node is None:
        return None
    # YAML 1.1 reads 02:00 as the base-60 integer 120: the raw text is what was meant.
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", node.text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        where.fail(f"{node.text!r} is not a time of day; expected HH:MM from 00:00 to 23:59")
        return None
    return time(int(match[1]), int(match[2]))


def sequence(item: Parser[T], *, min_items: int = 0) -> Parser[tuple[T, ...]]:
    def parse(where: Field) -> tuple[T, ...] | None:
        node = where.node
        if not isinstance(node, Sequence):
            where.fail(f"expected a list, got {_kind(node)}")
            return None
        if len(node.items) < min_items:
            where.fail(f"needs at least {min_items} item{'s' if min_items != 1 else ''}")
            return None
        values = [item(where.child(value, f"[{index}]")) for index, value in enumerate(node.items)]
        if any(value is None for value in values):
            return None
        return tuple(value for value in values if value is not None)

    return parse
