"""The portal in a real browser (Chromium via Playwright) against a live server whose worker
provisions real containers on the Docker engine. Screenshots of every step are kept under
var/test-output/browser/<test>/.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import Role
from portal.accounts.service import Accounts
from portal.mail import make_mailer
from tests.fixtures.browser import Screenshots, navigating
from tests.fixtures.live_portal import LivePortal

pytestmark = [pytest.mark.browser, pytest.mark.docker]

PASSWORD = "a long enough password"
PROVISIONING_SECONDS = 90


def sign_up(page: Page, portal: LivePortal, email: str, name: str) -> None:
    page.goto(f"{portal.url}/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Company (optional)").fill("Harbour Bakery")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def sign_in(page: Page, portal: LivePortal, email: str, password: str) -> None:
    page.goto(f"{portal.url}/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def create_operator(portal: LivePortal, email: str, password: str) -> None:
    """What `dockyard operators create` does, on the live portal's database."""

    async def create() -> None:
        runtime = portal.runtime
        async with runtime.database() as sessions:
            billing = runtime.billing_context(sessions)
            mailer = make_mailer(runtime.settings.mail)
            accounts = Accounts(sessions, billing, mailer, portal.url)
            await accounts.create_staff(email, Role.OPERATOR, "Olga Operator", password)

    # Playwright's sync API keeps an event loop on this thread: run ours on another.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, create()).result()


def open_running_instance(page: Page) -> None:
    """From the dashboard, the first instance's page once it runs."""
    # The in-process worker provisions the instance; the dashboard links it once it exists.
    instance_link = page.locator("a[href^='/instances/']").first
    deadline = time.monotonic() + PROVISIONING_SECONDS
    while instance_link.count() == 0:
        assert time.monotonic() < deadline, "no instance appeared on the dashboard"
        page.wait_for_timeout(1000)
        navigating(page.reload)
    instance_link.click()
    # The instance page refreshes itself (htmx) until the instance runs.
    expect(page.locator("#instance-status .tag").first).to_have_text(
        "running", timeout=PROVISIONING_SECONDS * 1000
    )


def unlabelled_fields(page: Page) -> list[str]:
    """Form controls a screen reader could not name."""
    names: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden' && e.labels.length === 0)
            .filter(e => !e.getAttribute('aria-label'))
            .map(e => e.name)"""
    )
    return names


def test_a_newcomer_signs_up_orders_the_demo_app_and_opens_it(
    live_portal: LivePortal, browser_page: Page, screenshots: Screenshots
) -> None:
    page = browser_page
    page.goto(live_portal.url)
    expect(page.get_by_role("heading", name="Application Starter")).to_be_visible()
    screenshots.take("catalog")

    card = page.locator("article.plan").filter(
        has=page.get_by_role("heading", name="Application Starter")
    )
    card.get_by_role("link", name="Order").click()
    expect(page).to_have_url(re.compile(r"/signup\?plan=app-starter$"))
    assert unlabelled_fields(page) == []
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("Email").fill("nora@example.com")
    page.get_by_label("Company (optional)").fill("Harbour Bakery")
    page.get_by_label("Password").fill(PASSWORD)
    screenshots.take("sign up")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/order/app-starter$"))
    expect(page.get_by_text("billing is offline", exact=False)).to_be_visible()
    support = page.get_by_role("group", name="Add a support plan (optional)")
    contract = support.get_by_role("radio", name=re.compile(r"^Support Contract 10 h"))
    # Its terms are on the page before it is chosen (issue 11), and name it for a reader.
    expect(contract).to_have_accessible_description(re.compile(r"leaving early costs 1400\.00 EUR"))
    expect(page.get_by_text("Monthly cap: 10 h (950.00 EUR)", exact=False)).to_be_visible()
    contract.check()
    screenshots.take("order")
    page.get_by_label("I accept these terms").check()
    page.get_by_role("button", name="Start my subscription").click()

    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Hello Nora Newcomer")).to_be_visible()
    screenshots.take("dashboard right after ordering")

    open_running_instance(page)
    screenshots.take("instance running")
    open_link = page.get_by_role("link", name=re.compile(r"^Open http"))
    address = open_link.get_attribute("href")
    assert address is not None

    page.goto(address)
    expect(page.get_by_role("heading", name="Dockyard demo application")).to_be_visible()
    screenshots.take("the application")
    assert httpx.get(address).status_code == 200  # the real container, not a portal page


def test_an_operator_logs_support_time_and_the_customer_sees_it(
    live_portal: LivePortal, browser_page: Page, screenshots: Screenshots
) -> None:
    customer = browser_page
    sign_up(customer, live_portal, "sam@example.com", "Sam Support")
    customer.goto(f"{live_portal.url}/order/support-10h")
    customer.get_by_label("I accept these terms").check()
    customer.get_by_role("button", name="Start my subscription").click()
    expect(customer).to_have_url(re.compile(r"/dashboard$"))
    screenshots.take("customer with a support contract")

    create_operator(live_portal, "olga@dockyard.example", "operator password 1")
    operator_context = customer.context.browser
    assert operator_context is not None
    with operator_context.new_context() as context:
        operator = context.new_page()
        sign_in(operator, live_portal, "olga@dockyard.example", "operator password 1")
        operator.goto(f"{live_portal.url}/ops/customers?q=sam@example.com")
        operator.get_by_role("link", name=re.compile("Sam Support")).first.click()
        operator.get_by_label("Minutes").fill("90")
        operator.get_by_label("What was done").fill("Moved the bakery's mail to the new server")
        operator.get_by_role("button", name="Log time").click()
        expect(operator.locator(".flash.ok").first).to_be_visible()
        Screenshots(operator, screenshots.folder / "operator").take("support time logged")

    customer.reload()
    support = customer.locator("#support")
    expect(support.get_by_text("Moved the bakery's mail to the new server")).to_be_visible()
    expect(support.locator("table.figures")).to_contain_text("1 h 30 min")
    screenshots.take("customer sees the entry")


def test_the_dashboard_is_usable_on_a_phone(
    live_portal: LivePortal, browser_page: Page, screenshots: Screenshots
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 740})
    sign_up(page, live_portal, "pia@example.com", "Pia Phone")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    screenshots.take("dashboard on a phone")

    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    page.goto(live_portal.url)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshots.take("catalog on a phone")


def test_customer_pages_fit_a_390px_phone_and_the_console_stays_clean(
    live_portal: LivePortal, browser_page: Page, screenshots: Screenshots
) -> None:
    """Issue 11: the dashboard was 809 px wide at 390 px, and htmx's injected style broke
    the CSP (56 console errors); no favicon (a 404 on every page)."""
    page = browser_page
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page, live_portal, "ria@example.com", "Ria Phone")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.goto(f"{live_portal.url}/order/app-starter")
    page.get_by_label("I accept these terms").check()
    page.get_by_role("button", name=re.compile("Start my subscription|Continue")).click()
    for path in ("/dashboard", "/account", "/", "/plans/app-starter", "/order/app-business"):
        page.goto(f"{live_portal.url}{path}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
        screenshots.take(f"{path.strip('/').replace('/', ' ') or 'catalog'} at 390px")
    assert problems == []
