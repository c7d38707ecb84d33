"""A public key as a customer pastes it: parsed, checked, fingerprinted like OpenSSH.

Parsing is asyncssh's (the gateway verifies signatures with the same library, so a key
accepted here is one it can use). What is refused, and why, is said in words a customer
can act on: the page shows the message beside the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncssh

MIN_RSA_BITS = 2048
MAX_KEY_TEXT = 16_000  # a 16384-bit RSA key in OpenSSH form is about 2,800 characters
# What the gateway accepts: OpenSSH's current defaults, hardware keys included. DSA and
# short RSA keys are refused: OpenSSH itself no longer trusts them.
SUPPORTED = frozenset(
    {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_RFC4716 = "---- BEGIN SSH2 PUBLIC KEY ----"
_WHITESPACE = re.compile(r"\s+")


class InvalidKey(ValueError):
    """The text is not a public key the gateway accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    algorithm: str  # e.g. "ssh-ed25519"
    fingerprint: str  # "SHA256:..." as ssh-keygen -l shows it
    comment: str
    openssh: str  # one line: "<algorithm> <base64> [comment]"


def parse_public_key(text: str) -> PublicKey:
    """One public key, in OpenSSH's one-line form (what ``~/.ssh/id_*.pub`` holds) or
    RFC 4716's. Raises InvalidKey."""
    text = text.strip()
    if not text:
        raise InvalidKey("paste a public key (the contents of a file like ~/.ssh/id_ed25519.pub)")
    if len(text) > MAX_KEY_TEXT:
        raise InvalidKey(f"too long for a public key (at most {MAX_KEY_TEXT} characters)")
    if "PRIVATE KEY" in text:
        raise InvalidKey(
            "this is a private key: never share it. Paste the public key, "
            "the file ending in .pub, instead"
        )
    if not text.startswith(_RFC4716) and len(text.splitlines()) > 1:
        raise InvalidKey("paste one key at a time (this text has several lines)")
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidKey(_unreadable(text)) from None
    algorithm = key.get_algorithm()
    if algorithm not in SUPPORTED:
        raise InvalidKey(
            f"{algorithm} keys are not accepted; use ssh-ed25519 "
            "(ssh-keygen -t ed25519), ECDSA or RSA of 2048 bits or more"
        )
    bits = _rsa_bits(key)
    if bits is not None and bits < MIN_RSA_BITS:
        raise InvalidKey(
            f"this RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed "
            "(or use ssh-keygen -t ed25519)"
        )
    comment = _WHITESPACE.sub(" ", key.get_comment() or "").strip()
    line = key.export_public_key("openssh").decode("ascii").strip()
    return PublicKey(algorithm, key.get_fingerprint("sha256"), comment, line)


def _unreadable(text: str) -> str:
    first = text.split(maxsplit=1)[0] if text.split() else ""
    if first.startswith(("ssh-", "ecdsa-", "sk-")) and first not in SUPPORTED:
        return f"{first} keys are not accepted; use ssh-ed25519, ECDSA or RSA"
    if first in SUPPORTED:
        return f"not a valid {first} key: the part after {first} is damaged or cut short"
    return "not an SSH public key: expected a line such as 'ssh-ed25519 AAAAC3Nza... you@laptop'"


def _rsa_bits(key: asyncssh.SSHKey) -> int | None:
    pyca = getattr(key, "pyca_key", None)
    size = getattr(pyca, "key_size", None)
    return int(size) if key.get_algorithm() == "ssh-rsa" and size is not None else None
