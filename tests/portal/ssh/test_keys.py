"""Parsing a pasted public key: what is accepted, what is refused and how it is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.ssh.keys import InvalidKey, parse_public_key
from tests.fixtures.ssh_keys import FIRST_KEY, make_key


def test_an_ed25519_key_gets_openssh_s_fingerprint_and_keeps_its_comment(tmp_path: Path) -> None:
    pair = make_key(tmp_path, "laptop")

    key = parse_public_key(pair.public + "\n")

    assert key.fingerprint == pair.fingerprint
    assert key.algorithm == "ssh-ed25519"
    assert key.comment == "laptop@test"
    assert key.openssh == pair.public


@pytest.mark.parametrize("kind", ["ecdsa", "rsa"])
def test_ecdsa_and_rsa_keys_are_accepted(tmp_path: Path, kind: str) -> None:
    pair = make_key(tmp_path, kind, kind)
    assert parse_public_key(pair.public).fingerprint == pair.fingerprint


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "paste a public key"),
        ("hello world", "not an SSH public key"),
        (FIRST_KEY.replace("AAAAIHAG", "AAAAIHA"), "damaged or cut short"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "ssh-dss keys are not accepted"),
        (FIRST_KEY + "\n" + FIRST_KEY, "one key at a time"),
    ],
)
def test_garbage_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidKey, match=says):
        parse_public_key(text)


def test_a_private_key_is_refused_and_called_what_it_is(tmp_path: Path) -> None:
    pair = make_key(tmp_path, "secret")

    with pytest.raises(InvalidKey, match="this is a private key"):
        parse_public_key(pair.private.read_text())


def test_a_short_rsa_key_is_refused_with_its_size(tmp_path: Path) -> None:
    pair = make_key(tmp_path, "old", "rsa", bits=1024)

    with pytest.raises(InvalidKey, match="1024 bits; at least 2048"):
        parse_public_key(pair.public)
