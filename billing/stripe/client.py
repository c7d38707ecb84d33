"""The one place a Stripe client is built, and the one place Stripe's errors are judged.

No SDK globals: every caller gets a ``StripeClient`` built from ``StripeSettings``, pinned
to the API version we tested against, with the SDK's own retries off (the outbox retries,
with backoff, across restarts) and httpx underneath (so respx sees every request).
"""

from __future__ import annotations

import stripe
from stripe._base_address import BaseAddresses

from billing.errors import StripeFailure, StripeNotConfigured
from billing.settings import StripeSettings


def make_client(
    settings: StripeSettings, http_client: stripe.HTTPClient | None = None
) -> stripe.StripeClient:
    """A client for ``settings``; raises :class:`StripeNotConfigured` without a key."""
    if not settings.secret_key:
        raise StripeNotConfigured()
    base: BaseAddresses = {}
    if settings.api_base:
        base["api"] = settings.api_base
    return stripe.StripeClient(
        settings.secret_key,
        stripe_version=settings.api_version,
        base_addresses=base,
        max_network_retries=0,
        http_client=http_client or stripe.HTTPXClient(allow_sync_methods=True),
    )


# Refusals that will never succeed as sent: retrying only repeats them.
_PERMANENT = (
    stripe.CardError,
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.IdempotencyError,
)


def classify(error: Exception) -> StripeFailure:
    """Turn an SDK error into a :class:`StripeFailure` that says whether a retry can help.

    Rate limits (429), Stripe's 5xx, timeouts and connection errors are transient; refused
    requests (4xx: card, invalid request, authentication, idempotency mismatch) are
    permanent and keep Stripe's own message for the operator.
    """
    if isinstance(error, StripeFailure):
        return error
    if isinstance(error, stripe.RateLimitError):
        return StripeFailure(f"Stripe rate limit: {_message(error)}", permanent=False)
    if isinstance(error, stripe.APIConnectionError):
        return StripeFailure(f"Stripe unreachable: {_message(error)}", permanent=False)
    if isinstance(error, stripe.StripeError):
        status = error.http_status
        if status is not None and (status >= 500 or status in (408, 409, 429)):
            # 409: a concurrent request with the same idempotency key is still running.
            return StripeFailure(f"Stripe error {status}: {_message(error)}", permanent=False)
        if isinstance(error, _PERMANENT) or (status is not None and 400 <= status < 500):
            return StripeFailure(f"Stripe refused ({status}): {_message(error)}", permanent=True)
        return StripeFailure(f"Stripe error: {_message(error)}", permanent=False)
    return StripeFailure(f"{type(error).__name__}: {error}", permanent=False)


def _message(error: stripe.StripeError) -> str:
    # One line: the SDK's connection errors span several paragraphs.
    return " ".join((error.user_message or type(error).__name__).split())
