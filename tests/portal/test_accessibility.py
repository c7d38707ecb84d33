"""Accessibility: axe-core (the engine behind Lighthouse's audit) on the main customer,
operator and finance pages of a running portal, in Chromium. Any serious or critical
violation fails the test (issue 11: none today; keep it so)."""

from __future__ import annotations

import importlib.resources
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.live_portal import LivePortal
from tests.portal.test_browser import PASSWORD, create_operator, sign_in, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.docker]

AXE = importlib.resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()
BLOCKING = {"serious", "critical"}


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(AXE)
    result: dict[str, Any] = page.evaluate("() => axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in BLOCKING
    ]


def audit(page: Page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return [f"{url}: {line}" for line in violations(page)]


def test_main_pages_have_no_serious_accessibility_violations(
    live_portal: LivePortal, chromium: Browser
) -> None:
    # axe is injected as a script: the portal's CSP (rightly) allows none inline.
    customer = chromium.new_context(bypass_csp=True).new_page()
    found = audit(customer, f"{live_portal.url}/")
    found += audit(customer, f"{live_portal.url}/plans/app-starter")
    found += audit(customer, f"{live_portal.url}/signin")
    sign_up(customer, live_portal, "axe@example.com", "Ada Axe")
    expect(customer).to_have_url(re.compile(r"/dashboard$"))
    for path in ("/dashboard", "/order/app-business", "/account", "/ssh-keys"):
        found += audit(customer, f"{live_portal.url}{path}")

    create_operator(live_portal, "olga@example.com", PASSWORD)
    staff = chromium.new_context(bypass_csp=True).new_page()
    sign_in(staff, live_portal, "olga@example.com", PASSWORD)
    for path in ("/ops", "/ops/customers", "/ops/rollouts", "/ops/outbox", "/finance"):
        found += audit(staff, f"{live_portal.url}{path}")
    staff.goto(f"{live_portal.url}/ops/customers?q=axe")
    staff.get_by_role("link", name="Ada Axe").click()
    found += violations(staff)

    assert found == []
