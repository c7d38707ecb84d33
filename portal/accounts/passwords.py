"""Password hashing with argon2id (argon2-cffi's current recommended parameters)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing a megabyte "password" is a denial of service, not a password

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong
# password and response times do not reveal who has an account.
_DECOY = _hasher.hash("decoy password for unknown accounts")


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"use at most {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_version(password_hash: str) -> str:
    """A short fingerprint of the stored hash, kept in each session: a new password (a reset,
    a change) changes it, which signs out every session begun with the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
