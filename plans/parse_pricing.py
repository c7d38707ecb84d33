"""The ``pricing`` block every plan carries."""

from __future__ import annotations

from plans import reader as r
from plans.model import Commitment, EarlyCancellation, Interval, Pricing
from plans.money import Money

PRICING_KEYS = (
    "currency", "amount", "amount_minor", "interval", "trial_months", "commitment",
    "setup_fee", "setup_fee_minor",
)  # fmt: skip
COMMITMENT_KEYS = ("months", "early_cancellation", "early_cancellation_fee")
MAX_TRIAL_MONTHS = 12
MAX_COMMITMENT_MONTHS = 36


def parse_pricing(where: r.Field, intervals: tuple[Interval, ...]) -> Pricing | None:
    section = r.Section(where, PRICING_KEYS)
    code = section.require("currency", r.currency, "an ISO 4217 code such as EUR")
    amount = _amount(section, "amount", code, required=True)
    interval = section.require("interval", r.choice(Interval, intervals), _listing(intervals))
    trial = section.optional("trial_months", r.integer(0, MAX_TRIAL_MONTHS), 0)
    commitment_field = section.field("commitment")
    commitment = (
        _commitment(commitment_field, code, interval) if commitment_field is not None else None
    )
    setup_fee = _amount(section, "setup_fee", code, required=False)
    if interval in (Interval.HOUR, Interval.ONCE):
        for key in ("trial_months", "commitment"):
            extra = section.field(key)
            if extra is not None:
                extra.fail(f"only recurring prices (month, year) have {key.replace('_', ' ')}")
                return None
    if amount is None or interval is None or trial is None or code is None:
        return None
    if commitment_field and commitment is None:
        return None
    return Pricing(amount, interval, trial, commitment, setup_fee)


def _amount(section: r.Section, key: str, code: str | None, *, required: bool) -> Money | None:
    decimal_field, minor_field = section.field(key), section.field(f"{key}_minor")
    if decimal_field and minor_field:
        minor_field.fail(f"write either {key} or {key}_minor, not both")
        return None
    if decimal_field:
        return r.money(code)(decimal_field)
    if minor_field:
        return r.minor_units(code)(minor_field)
    if required:
        section.require(key, r.money(code), f'write {key}: "29.00" or {key}_minor: 2900')
    return None


def _commitment(where: r.Field, code: str | None, interval: Interval | None) -> Commitment | None:
    section = r.Section(where, COMMITMENT_KEYS)
    months = section.require("months", r.integer(1, MAX_COMMITMENT_MONTHS))
    policy = section.require(
        "early_cancellation",
        r.choice(EarlyCancellation),
        "what happens if the customer leaves early",
    )
    fee_field = section.field("early_cancellation_fee")
    fee = r.money(code)(fee_field) if fee_field else None
    per_interval = max(interval.months, 1) if interval is not None else 1
    if months is not None and interval is not None and months % per_interval:
        months_field = section.field("months")
        assert months_field is not None
        months_field.fail(
            f"{months} months is not a whole number of {interval.value}s; "
            f"allowed: multiples of {per_interval}"
        )
        return None
    if policy is EarlyCancellation.FEE and fee_field is None:
        section.require("early_cancellation_fee", r.money(code), "early_cancellation is 'fee'")
        return None
    if fee_field is not None and policy not in (EarlyCancellation.FEE, None):
        fee_field.fail(f"only applies when early_cancellation is 'fee', not {policy.value!r}")
        return None
    if months is None or policy is None or (fee_field is not None and fee is None):
        return None
    return Commitment(months, policy, fee)


def _listing(intervals: tuple[Interval, ...]) -> str:
    return ", ".join(interval.value for interval in intervals)
