"""Exact money: integer minor units with an ISO 4217 currency.

Amounts are parsed from their written text, never through ``float``, so "19.99"
is exactly 1999 cents and "19.999" is refused rather than rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plans import currencies

# Far beyond any price, and well inside the digits int() and str() convert (4300).
_MAX_DIGITS = 1000
_DECIMAL = re.compile(r"^(?P<sign>-?)(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?$")


class MoneyError(ValueError):
    """An amount that cannot be represented exactly in its currency."""


@dataclass(frozen=True, slots=True, order=True)
class Money:
    currency: str
    minor: int

    def __post_init__(self) -> None:
        if not currencies.is_known(self.currency):
            raise MoneyError(f"unknown currency {self.currency!r}")

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        return cls(currency, parse_minor(text, currency))

    def __str__(self) -> str:
        return format_minor(self.minor, self.currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise MoneyError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.currency, self.minor + other.minor)

    def times(self, factor: int) -> Money:
        return Money(self.currency, self.minor * factor)

    @property
    def is_zero(self) -> bool:
        return self.minor == 0


def parse_minor(text: str, currency: str) -> int:
    """Parse a decimal amount in major units ("29", "29.5", "29.50") to minor units."""
    digits = currencies.exponent(currency)
    match = _DECIMAL.match(text.strip())
    if match is None:
        raise MoneyError(f'{text!r} is not a decimal amount such as "29.00"')
    if len(match["whole"]) > _MAX_DIGITS:
        raise MoneyError(f"an amount of {len(match['whole'])} digits is too large")
    fraction = (match["fraction"] or "").rstrip("0")
    if len(fraction) > digits:
        smallest = "1" if digits == 0 else "0." + "0" * (digits - 1) + "1"
        raise MoneyError(
            f"{text!r} has more decimals than {currency} allows (smallest unit {smallest})"
        )
    minor = int(match["whole"]) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    return -minor if match["sign"] else int(minor)


def format_minor(minor: int, currency: str) -> str:
    """Render minor units as "29.00 EUR": the inverse of :func:`parse_minor`."""
    digits = currencies.exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits)
    text = f"{whole}.{fraction:0{digits}d}" if digits else str(whole)
    return f"{sign}{text} {currency}"
