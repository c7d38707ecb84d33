"""The public catalog: what is on sale today, grouped, priced and explained, for anyone."""

from __future__ import annotations

import re

from portal.accounts.models import Role
from tests.fixtures.portal import Portal


def section(html: str, kind: str) -> str:
    """The catalog section of one kind of plan."""
    match = re.search(rf'<section id="{kind}".*?</section>', html, re.S)
    assert match is not None, f"no {kind} section"
    return match.group(0)


def card(html: str, plan_id: str) -> str:
    match = re.search(rf'<article[^>]*aria-labelledby="plan-{plan_id}".*?</article>', html, re.S)
    assert match is not None, f"no card for {plan_id}"
    return match.group(0)


def test_the_catalog_groups_the_plans_on_sale_today(portal: Portal) -> None:
    page = portal.get("/")

    assert page.status_code == 200
    html = page.text
    order = [html.index(f'id="h-{kind}"') for kind in (
        "application_hosting", "server_hosting", "support", "service"
    )]  # fmt: skip
    assert order == sorted(order)
    apps = section(html, "application_hosting")
    assert "Application Starter" in apps
    assert "Application Business" in apps
    assert "Server S" not in apps
    assert "Server S" in section(html, "server_hosting")
    assert "Pay-as-you-go Support" in section(html, "support")
    services = section(html, "service")
    assert "Developer Service" in services
    assert "End-user Training" in services
    assert "Training" in services
    assert "Developer service" in services


def test_cards_show_prices_trials_commitments_resources_and_what_is_included(
    portal: Portal,
) -> None:
    html = portal.get("/").text

    starter = card(section(html, "application_hosting"), "app-starter")
    assert "29.00 EUR" in starter
    assert "per month" in starter
    assert "First month free" in starter
    assert "0.5 vCPU" in starter
    assert "128 MB" in starter
    assert "5 GB" in starter
    assert "Maintenance in the maintenance window" in starter
    assert "Updates of the application" in starter
    business = card(section(html, "application_hosting"), "app-business")
    assert "Setup fee 49.00 EUR" in business
    assert "6-month commitment; leaving early, the remaining months are invoiced" in business
    servers = section(html, "server_hosting")
    assert "768.00 EUR" in servers
    assert "per year" in servers
    assert "about 64.00 EUR per month" in servers
    assert "16 GB" in servers  # Server L's memory, in GB
    support = section(html, "support")
    assert "20 h included per month" in support
    assert "roll over, up to 10 h for 3 months" in support
    assert "10 h; more needs your approval" in support  # pay-as-you-go's monthly cap
    assert "leaving early costs 1400.00 EUR" in support


def test_only_versions_on_sale_today_are_offered(portal: Portal) -> None:
    servers = section(portal.get("/").text, "server_hosting")
    assert "<dd>20 GB</dd>" in card(servers, "server-s")  # v2 goes on sale 2026-12-01

    portal.clock.advance(days=10)  # 2026-12-02

    servers = section(portal.get("/").text, "server_hosting")
    assert "<dd>30 GB</dd>" in card(servers, "server-s")


def test_anonymous_visitors_sign_up_first_and_customers_order_directly(portal: Portal) -> None:
    anonymous = portal.get("/").text
    assert 'href="/signup?plan=app-starter"' in anonymous
    assert 'href="/order/app-starter"' not in anonymous

    portal.sign_up("ann@example.com")
    signed_in = portal.get("/").text
    assert 'href="/order/app-starter"' in signed_in
    assert 'href="/order/support-payg"' in signed_in

    portal.sign_out()
    portal.staff("op@example.com", Role.OPERATOR)
    staff = portal.get("/").text
    assert "/order/app-starter" not in staff
    assert "/signup?plan=" not in staff


def test_sign_up_from_a_plan_keeps_it_and_leads_to_its_order_page(portal: Portal) -> None:
    form = portal.get("/signup?plan=support-20h")
    assert 'name="plan" value="support-20h"' in form.text

    answer = portal.post(
        "/signup",
        {"email": "b@example.com", "name": "B", "password": "a long enough password",
         "plan": "support-20h"},
    )  # fmt: skip

    assert answer.headers["location"] == "/order/support-20h"
    assert portal.get("/order/support-20h").status_code == 200


def test_a_plan_page_explains_one_plan(portal: Portal) -> None:
    page = portal.get("/plans/server-l")

    assert page.status_code == 200
    html = page.text
    assert "<h1" in html
    assert "Server L" in html
    assert "768.00 EUR per year" in html
    assert "12-month commitment; a cancellation takes effect when the commitment ends" in html
    assert "server administration" in html  # what is not included
    assert "4 vCPU" in html
    assert "320 GB" in html
    assert 'href="/signup?plan=server-l"' in html


def test_plans_not_on_sale_are_not_found(portal: Portal) -> None:
    assert portal.get("/plans/no-such-plan").status_code == 404
    assert portal.get("/plans/server-s").status_code == 200
