"""Slowing down password guessing on one account, from however many addresses.

The per-client limit (portal.web.security.sign_in_rate_limit) slows one address; an
attacker with many addresses is slowed here, per account:

- after ``FREE_FAILURES`` wrong passwords in a row, sign-ins to the account wait
  ``BASE_DELAY``, doubling with each further failure up to ``MAX_DELAY``; while they
  wait, the password is not even checked (no answer tells a right guess from a wrong one);
- a browser that has signed in to the account before (a "known browser" cookie, an HMAC
  of the account's id) is never made to wait: guesses from elsewhere cannot lock the
  owner out, neither for a while nor forever;
- a right password resets the count.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

FREE_FAILURES = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
KNOWN_BROWSER_COOKIE = "dockyard_known"
KNOWN_BROWSER_LIFETIME = 60 * 60 * 24 * 365  # seconds


def lock_after(failures: int, now: datetime) -> datetime | None:
    """Until when sign-ins wait after ``failures`` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return None
    delay: timedelta = min(MAX_DELAY, BASE_DELAY * 2 ** min(failures - FREE_FAILURES, 10))
    return now + delay


def known_browser_token(secret: bytes, user_id: str) -> str:
    return hmac.new(secret, f"known-browser:{user_id}".encode(), hashlib.sha256).hexdigest()


def is_known_browser(secret: bytes, user_id: str, cookie: str | None) -> bool:
    return bool(cookie) and hmac.compare_digest(known_browser_token(secret, user_id), str(cookie))
