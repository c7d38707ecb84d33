"""A customer's instance from outside, in Chromium, through a real Caddy: its own HTTPS
address (Caddy's internal CA trusted by the browser), a domain of the customer's own that
gets a certificate, a name nobody attached that does not, and the suspension page.
Screenshots under var/test-output/browser/<test>/.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Error, Page, Playwright, expect

from portal.runtime import Runtime
from provisioner import Provisioner, SuspensionReason
from tests.fixtures.browser import CHROMIUM, OUTPUT, Screenshots, navigating
from tests.fixtures.live_portal import LivePortal, running_portal
from tests.fixtures.proxy import Caddy
from tests.fixtures.services import unavailable
from tests.portal.test_browser import open_running_instance, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.proxy]

CUSTOM = "shop.example.com"
STRANGER = "evil.example.com"


@pytest.fixture
def proxied_portal(tmp_path: Path, portal_namespace: str, proxy: Caddy) -> Iterator[LivePortal]:
    with running_portal(tmp_path, portal_namespace, proxy=proxy.settings) as portal:
        yield portal


def trusting_home(folder: Path, caddy: Caddy) -> Path:
    """A HOME whose NSS database trusts Caddy's CA: where Chromium on Linux looks."""
    deadline = time.monotonic() + 15
    while not caddy.root_certificate.exists():  # made when the pki app first loads
        assert time.monotonic() < deadline, "Caddy made no root certificate"
        time.sleep(0.2)
    database = folder / ".pki" / "nssdb"
    database.mkdir(parents=True)
    try:
        subprocess.run(["certutil", "-d", f"sql:{database}", "-N", "--empty-password"], check=True)
        subprocess.run(
            [
                "certutil",
                "-d",
                f"sql:{database}",
                "-A",
                "-t",
                "C,,",
                "-n",
                "Caddy local CA",
                "-i",
                str(caddy.root_certificate),
            ],
            check=True,
        )
    except FileNotFoundError:
        unavailable("certutil", "it is not installed", "run `make services` (libnss3-tools)")
    return folder


@pytest.fixture
def trusting_page(
    playwright_driver: Playwright, tmp_path: Path, proxy: Caddy, proxied_portal: LivePortal
) -> Iterator[Page]:
    """Chromium that trusts Caddy's CA and finds the customer's names on this machine
    (``*.localhost`` it resolves to loopback by itself)."""
    if not CHROMIUM.exists():
        unavailable("Chromium", f"{CHROMIUM} is missing", "run `make services` (installs it)")
    home = trusting_home(tmp_path / "home", proxy)
    browser: Browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[
            "--no-sandbox",
            f"--host-resolver-rules=MAP {CUSTOM} 127.0.0.1, MAP {STRANGER} 127.0.0.1",
        ],
        env={"HOME": str(home)},
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
    browser.close()


def on_portal(portal: LivePortal, call: str, *args: object) -> object:
    """A Provisioner call on the live portal's database, off Playwright's event loop."""

    async def run() -> object:
        runtime: Runtime = portal.runtime
        async with runtime.database() as sessions:
            provisioner = Provisioner(runtime.provisioner_context(sessions))
            return await getattr(provisioner, call)(*args)

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def verified_get(caddy: Caddy, host: str) -> httpx.Response:
    """HTTPS through the proxy, the certificate checked against Caddy's CA only."""
    trust = ssl.create_default_context(cafile=str(caddy.root_certificate))
    transport = httpx.HTTPTransport(verify=trust)
    with httpx.Client(transport=transport, timeout=10) as client:
        # Connect to loopback, but speak TLS (SNI, certificate check) for ``host``.
        return client.get(
            f"https://127.0.0.1:{caddy.https_port}/",
            headers={"Host": host},
            extensions={"sni_hostname": host},
        )


def test_a_customer_reaches_their_instance_by_name_with_https(
    proxied_portal: LivePortal,
    proxy: Caddy,
    trusting_page: Page,
) -> None:
    page = trusting_page
    shots = Screenshots(page, OUTPUT / "proxy_https_domains")
    sign_up(page, proxied_portal, "hana@example.com", "Hana Host")
    navigating(lambda: page.goto(f"{proxied_portal.url}/order/app-starter"))
    page.get_by_label("I accept these terms").check()
    page.get_by_role("button", name="Start my subscription").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))

    open_running_instance(page)
    instance_id = page.url.rsplit("/", 1)[-1]
    address = f"https://{instance_id}.dockyard.localhost:{proxy.https_port}/"
    expect(page.get_by_role("link", name=f"Open {address}")).to_be_visible()
    shots.take("instance page with its https address")

    # Through Caddy, with a certificate Chromium trusts (no certificate error page).
    navigating(lambda: page.goto(address))
    expect(page.get_by_role("heading", name="Dockyard demo application")).to_be_visible()
    shots.take("the application at its own name")

    # The customer's own name: attached on the portal, its certificate issued on demand.
    navigating(lambda: page.goto(f"{proxied_portal.url}/instances/{instance_id}"))
    page.get_by_label("Add a domain").fill(CUSTOM)
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_text(f"{CUSTOM}. CNAME {instance_id}.dockyard.localhost.")).to_be_visible()
    shots.take("a domain added, with its DNS record")
    navigating(lambda: page.goto(f"https://{CUSTOM}:{proxy.https_port}/"))
    expect(page.get_by_role("heading", name="Dockyard demo application")).to_be_visible()
    shots.take("the application at the customer's domain")
    assert verified_get(proxy, CUSTOM).status_code == 200

    # A name nobody attached: the ask endpoint says no, so there is no certificate at all.
    with pytest.raises(Error, match=re.compile("ERR_SSL|ERR_CONNECTION|ERR_CERT")):
        navigating(lambda: page.goto(f"https://{STRANGER}:{proxy.https_port}/"))
    with pytest.raises(httpx.HTTPError):
        verified_get(proxy, STRANGER)

    # Suspended: the address explains instead of failing.
    # (An operator's suspension: a billing one without an overdue invoice behind it is
    # lifted by the worker's next pass, as it should be.)
    on_portal(proxied_portal, "suspend", instance_id, SuspensionReason.MANUAL)
    navigating(lambda: page.goto(address))
    # The application's page may be in Chromium's cache (busybox httpd sends
    # Last-Modified and no Cache-Control); a reload asks the proxy again, as a visitor's would.
    navigating(page.reload)
    expect(page.get_by_role("heading", name="This site is suspended")).to_be_visible()
    expect(page.get_by_text("suspended by its hosting provider")).to_be_visible()
    shots.take("the suspension page")
