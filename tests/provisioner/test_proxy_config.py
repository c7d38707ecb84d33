"""The proxy's configuration, pages, settings and domain rules, without a proxy."""

from __future__ import annotations

import pytest

from provisioner.errors import InvalidDomain
from provisioner.models import SuspensionReason
from provisioner.proxy.config import Route, caddy_config
from provisioner.proxy.domains import instance_of_host, normalised_domain
from provisioner.proxy.pages import starting_page, suspended_page
from provisioner.proxy.settings import ProxySettings, TlsIssuer

BASE = "dockyard.localhost"


def test_a_serving_instance_is_proxied_and_a_stopped_one_gets_its_page() -> None:
    settings = ProxySettings(ask_url="http://127.0.0.1:8000/proxy/ask")
    routes = [
        Route("i1", ("i1.dockyard.localhost", "shop.example.com"), upstream="127.0.0.1:20001"),
        Route("i2", ("i2.dockyard.localhost",), status=503, page="<p>suspended</p>"),
    ]

    config = caddy_config(routes, settings, "127.0.0.1:2019")

    https = config["apps"]["http"]["servers"]["https"]
    served, paused, fallback = https["routes"]
    assert served["match"] == [{"host": ["i1.dockyard.localhost", "shop.example.com"]}]
    assert served["handle"][0]["handler"] == "reverse_proxy"
    assert served["handle"][0]["upstreams"] == [{"dial": "127.0.0.1:20001"}]
    assert paused["handle"][0] == {
        "handler": "static_response",
        "status_code": 503,
        "headers": {
            "Content-Type": ["text/html; charset=utf-8"],
            "Cache-Control": ["no-store"],
            "Retry-After": ["300"],
        },
        "body": "<p>suspended</p>",
    }
    assert "match" not in fallback
    assert fallback["handle"][0]["status_code"] == 404
    # The plain-HTTP development listener serves the same routes, without redirects.
    assert config["apps"]["http"]["servers"]["http"]["routes"] == https["routes"]
    assert config["apps"]["http"]["servers"]["http"]["automatic_https"] == {"disable": True}
    # Certificates only on demand, only for names the ask endpoint allows.
    automation = config["apps"]["tls"]["automation"]
    assert automation["on_demand"] == {"ask": "http://127.0.0.1:8000/proxy/ask"}
    assert automation["policies"] == [{"issuers": [{"module": "internal"}], "on_demand": True}]
    assert config["admin"]["listen"] == "127.0.0.1:2019"


def test_production_gets_certificates_from_acme() -> None:
    settings = ProxySettings(tls=TlsIssuer.ACME, acme_email="ops@example.com", https_port=443)
    config = caddy_config([], settings, "127.0.0.1:2019")
    policy = config["apps"]["tls"]["automation"]["policies"][0]
    assert policy["issuers"] == [{"module": "acme", "email": "ops@example.com"}]
    assert settings.origin("i1.example.net") == "https://i1.example.net"


def test_the_suspended_page_says_why_and_what_to_do() -> None:
    billing = suspended_page("i1", SuspensionReason.BILLING.value, "https://portal.example")
    assert "payment for it is overdue" in billing
    assert 'href="https://portal.example/dashboard"' in billing
    manual = suspended_page("i1", SuspensionReason.MANUAL.value, "https://portal.example")
    assert "contact support" in manual
    assert "overdue" not in manual
    assert "<script" not in suspended_page("<script>", None, "https://portal.example")
    assert "starting" in starting_page("i1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("shop.example.com", "shop.example.com"),
        ("  Shop.Example.COM.  ", "shop.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example.org", "a-b.c-d.example.org"),
    ],
)
def test_a_domain_is_normalised(raw: str, expected: str) -> None:
    assert normalised_domain(raw, BASE) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "enter a domain name"),
        ("https://shop.example.com/", "without http://"),
        ("shop.example.com:8443", "without http://"),
        ("localhost", "two or more labels"),
        ("-shop.example.com", "two or more labels"),
        ("shop_1.example.com", "two or more labels"),
        ("a" * 64 + ".example.com", "not a valid domain name"),
        ("10.0.0.1", "IP address"),
        ("i123.dockyard.localhost", "provider's own"),
        ("dockyard.localhost", "provider's own"),
        ("app.localhost", "provider's own"),
    ],
)
def test_a_bad_domain_is_refused_saying_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidDomain, match=why):
        normalised_domain(raw, BASE)


def test_an_instance_name_is_recognised() -> None:
    assert instance_of_host("i1.dockyard.localhost", BASE) == "i1"
    assert instance_of_host("a.i1.dockyard.localhost", BASE) is None
    assert instance_of_host("shop.example.com", BASE) is None


def test_proxy_settings_from_the_environment() -> None:
    assert ProxySettings.from_env({"DOCKYARD_PROXY": "off"}) is None
    settings = ProxySettings.from_env(
        {"DOCKYARD_BASE_URL": "https://portal.example/", "DOCKYARD_PROXY_HTTPS_PORT": "443"}
    )
    assert settings is not None
    assert settings.ask_url == "https://portal.example/proxy/ask"
    assert settings.https_port == 443
    with pytest.raises(ValueError, match="DOCKYARD_PROXY_HTTP_PORT='eighty'"):
        ProxySettings.from_env({"DOCKYARD_PROXY_HTTP_PORT": "eighty"})
    with pytest.raises(ValueError, match="DOCKYARD_ACME_EMAIL"):
        ProxySettings.from_env({"DOCKYARD_PROXY_TLS": "acme"})
    with pytest.raises(ValueError, match="DOCKYARD_PROXY='nginx'"):
        ProxySettings.from_env({"DOCKYARD_PROXY": "nginx"})
