"""Billing settings, read once from ``DOCKYARD_*`` variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The Stripe API version this code was built and tested against; the webhook endpoint
# must be configured for the same one. An SDK upgrade never changes it silently.
STRIPE_API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True, slots=True)
class StripeSettings:
    secret_key: str | None = None  # None: billing is offline, the outbox holds
    webhook_secret: str | None = None
    api_version: str = STRIPE_API_VERSION
    api_base: str | None = None  # another server (tests, stripe-mock)
    webhook_tolerance_seconds: int = 300
    # Where Checkout's pages are: the portal's forms may send customers there.
    checkout_origin: str = "https://checkout.stripe.com"

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StripeSettings:
        return cls(
            secret_key=environ.get("DOCKYARD_STRIPE_SECRET_KEY") or None,
            webhook_secret=environ.get("DOCKYARD_STRIPE_WEBHOOK_SECRET") or None,
            api_base=environ.get("DOCKYARD_STRIPE_API_BASE") or None,
            checkout_origin=_origin(
                "DOCKYARD_STRIPE_CHECKOUT_ORIGIN",
                environ.get("DOCKYARD_STRIPE_CHECKOUT_ORIGIN") or "https://checkout.stripe.com",
            ),
        )


# scheme://host[:port] and nothing else: the value goes into the CSP header's form-action,
# where a space or ";" would add sources or whole directives.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _origin(name: str, value: str) -> str:
    if not _ORIGIN.match(value):
        raise ValueError(
            f"{name}={value!r}: expected an origin such as https://checkout.stripe.com"
            " (scheme, host and optional port; no path)"
        )
    return value


@dataclass(frozen=True, slots=True)
class DunningSettings:
    suspend_after_days: int = 14  # past due this long: the subscription is suspended
    end_after_days: int = 21  # suspended this long more: it ends, the instance goes

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DunningSettings:
        def days(name: str, default: int) -> int:
            raw = environ.get(name)
            if not raw:
                return default
            if not raw.isdigit():
                raise ValueError(f"{name}={raw!r}: expected a whole number of days")
            return int(raw)

        return cls(
            suspend_after_days=days("DOCKYARD_DUNNING_SUSPEND_AFTER_DAYS", 14),
            end_after_days=days("DOCKYARD_DUNNING_END_AFTER_DAYS", 21),
        )
