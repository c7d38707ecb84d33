"""Customers' own domain names: which names are acceptable, and which instance has one."""

from __future__ import annotations

import re

from provisioner.errors import InvalidDomain

MAX_DOMAINS_PER_INSTANCE = 10
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalised_domain(raw: str, base_domain: str) -> str:
    """The name as the proxy and DNS see it (lower case, IDNA, no trailing dot).

    Raises InvalidDomain saying what is wrong with it."""
    name = raw.strip().rstrip(".").lower()
    if not name:
        raise InvalidDomain(raw, "enter a domain name, such as shop.example.com")
    if "://" in name or "/" in name or ":" in name:
        raise InvalidDomain(raw, "enter the name alone, without http://, a path or a port")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidDomain(raw, "this is not a valid domain name") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain(
            raw,
            "a domain is two or more labels of letters, digits and hyphens, like shop.example.com",
        )
    if labels[-1].isdecimal():
        raise InvalidDomain(raw, "an IP address cannot be attached; use a domain name")
    base = base_domain.lower().rstrip(".")
    if name == base or name.endswith("." + base) or labels[-1] == "localhost":
        raise InvalidDomain(raw, f"names under {base} are the provider's own")
    return name


def instance_host(instance_id: str, base_domain: str) -> str:
    return f"{instance_id}.{base_domain}"


def instance_of_host(host: str, base_domain: str) -> str | None:
    """The instance id in ``<instance>.<base domain>``, else None."""
    suffix = "." + base_domain.lower()
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if label and "." not in label:
            return label
    return None
