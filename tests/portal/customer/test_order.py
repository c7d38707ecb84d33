"""Ordering from the portal: without Stripe the subscriptions start at once and the worker
sets up the instance; with Stripe each subscription goes through its own Checkout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import update

from billing.models import Customer as CustomerRow
from plans.money import Money
from portal.app import create_app
from portal.customer.order_terms import order_terms, order_total
from portal.runtime import Runtime
from tests.fixtures.billing import sample_catalog
from tests.fixtures.clock import MovableClock
from tests.fixtures.customer_portal import (
    Customer,
    new_customer,
    subscriptions,
    tick_until_running,
)
from tests.fixtures.portal import Portal, portal_settings
from tests.fixtures.stripe_double.fake import FakeStripe, price, stripe_settings
from tests.fixtures.stripe_double.wiring import mocked_stripe

# -- without Stripe -----------------------------------------------------------------------


def test_the_order_page_says_billing_is_offline_and_offers_support(portal: Portal) -> None:
    new_customer(portal, "ann@example.com")

    page = portal.get("/order/app-starter")

    assert page.status_code == 200
    assert "Online billing is offline" in page.text
    assert "starts at once" in page.text
    assert 'type="radio" name="support" id="support-support-payg" value="support-payg"' in page.text
    assert 'id="support-none" value="" checked' in page.text  # nothing costly chosen for you
    assert "Start my subscription" in page.text


def test_ordering_without_stripe_starts_both_and_the_instance_follows(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")

    answer = portal.post("/order/app-starter", {"support": "support-payg", "accept": "on"})

    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    held = {s.plan_id: s for s in subscriptions(portal, ann.id)}
    assert held["app-starter"].state == "trialing"  # the first month is free
    assert held["support-payg"].state == "active"
    before = portal.get("/dashboard").text
    assert "Application Starter and Pay-as-you-go Support: your subscription has started" in before
    assert "being set up" in before

    instance = tick_until_running(portal, held["app-starter"].id)

    assert instance.customer_ref == ann.id
    assert instance.plan_id == "app-starter"
    after = portal.get("/dashboard").text
    assert f'href="/instances/{instance.id}"' in after
    assert 'class="tag state-running"' in after
    assert "being set up" not in after


def test_support_and_service_plans_can_be_ordered_alone(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")

    page = portal.get("/order/support-20h")
    assert page.status_code == 200
    assert 'name="support"' not in page.text  # nothing to add to a support plan

    assert portal.post("/order/support-20h", {"accept": "on"}).status_code == 303
    assert portal.post("/order/training-onboarding", {"accept": "on"}).status_code == 303

    states = {s.plan_id: s.state for s in subscriptions(portal, ann.id)}
    assert states == {"support-20h": "trialing", "training-onboarding": "active"}


def test_a_support_choice_that_is_not_offered_is_refused_with_a_message(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")

    answer = portal.post("/order/app-starter", {"support": "server-m", "accept": "on"})

    assert answer.status_code == 400
    assert "choose one of the support plans listed, or none" in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert subscriptions(portal, ann.id) == []


def test_plans_not_on_sale_cannot_be_ordered(portal: Portal) -> None:
    new_customer(portal, "ann@example.com")

    assert portal.get("/order/no-such-plan").status_code == 404
    assert portal.post("/order/no-such-plan").status_code == 404


def test_a_plan_in_another_currency_is_refused_before_anything_starts(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    pays_in_usd(portal, ann)

    page = portal.get("/order/app-starter")
    assert "your account pays in USD" in page.text
    answer = portal.post("/order/app-starter", {"support": "support-payg", "accept": "on"})

    assert answer.status_code == 400
    assert "is priced in EUR but the customer pays in USD" in answer.text
    assert subscriptions(portal, ann.id) == []


def test_ordering_needs_a_customer_account(portal: Portal) -> None:
    anonymous = portal.get("/order/app-starter")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/signin?next=/order/app-starter"


def pays_in_usd(portal: Portal, customer: Customer) -> None:
    async def write() -> None:
        async with portal.services.sessions() as session, session.begin():
            await session.execute(
                update(CustomerRow).where(CustomerRow.id == customer.id).values(currency="USD")
            )

    portal.run(write)


# -- with Stripe ----------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    for stripe in mocked_stripe():  # one fake, live while the test runs
        for plan in ("app-starter", "support-payg"):
            monthly = {"interval": "month"}
            stripe.add(price(f"price_{plan}", f"dockyard:{plan}:v1", 2900, recurring=monthly))
        yield stripe


@pytest.fixture
def paying(tmp_path: Path, portal_namespace: str, fake: FakeStripe) -> Iterator[Portal]:
    """The portal with Stripe configured (the fake behind respx)."""
    clock = MovableClock()
    fake.clock = clock  # Stripe's "now" too
    settings = portal_settings(tmp_path, portal_namespace, stripe=stripe_settings())
    with TestClient(create_app(Runtime(settings, clock=clock))) as client:
        yield Portal(client, clock, settings)


def test_the_order_page_says_payment_happens_on_stripe(paying: Portal) -> None:
    new_customer(paying, "ann@example.com")

    page = paying.get("/order/app-starter")

    assert "Stripe's secure checkout page" in page.text
    assert "Continue to payment" in page.text
    assert "offline" not in page.text


def test_ordering_with_stripe_sends_the_customer_to_checkout(
    paying: Portal, fake: FakeStripe
) -> None:
    ann = new_customer(paying, "ann@example.com")

    answer = paying.post("/order/app-starter", {"support": "support-payg", "accept": "on"})

    assert answer.status_code == 303
    # The customer exists in Stripe before Checkout opens for it: one customer, ever.
    [checkout] = [o for o in fake.objects.values() if o["object"] == "checkout.session"]
    assert answer.headers["location"] == checkout["url"]
    [made] = fake.posts("/v1/customers")
    assert made.idempotency_key == f"customer.create:{ann.id}"
    [stripe_customer] = [o for o in fake.objects.values() if o["object"] == "customer"]
    held = {s.plan_id: s for s in subscriptions(paying, ann.id)}
    assert {s.state for s in held.values()} == {"pending"}
    [session] = fake.posts("/v1/checkout/sessions")
    assert session.form["customer"] == stripe_customer["id"]
    hosting = held["app-starter"].id
    assert session.form["client_reference_id"] == hosting
    base = paying.settings.web.base_url
    assert session.form["success_url"] == f"{base}/order/done?subscription={hosting}"
    assert session.form["cancel_url"] == f"{base}/order/app-starter"

    done = paying.get(f"/order/done?subscription={hosting}")

    assert done.status_code == 200
    assert "Stripe is confirming your payment for <strong>Application Starter</strong>" in done.text
    support = held["support-payg"].id
    assert f'action="/subscriptions/{support}/checkout"' in done.text
    assert "Pay for Pay-as-you-go Support" in done.text

    next_checkout = paying.post(f"/subscriptions/{support}/checkout")

    assert next_checkout.status_code == 303
    second = [o for o in fake.objects.values() if o["object"] == "checkout.session"][-1]
    assert next_checkout.headers["location"] == second["url"]
    assert fake.posts("/v1/checkout/sessions")[-1].form["client_reference_id"] == support
    # The same Stripe customer for both: made once, before the first Checkout.
    assert fake.posts("/v1/checkout/sessions")[-1].form["customer"] == stripe_customer["id"]
    assert len(fake.posts("/v1/customers")) == 1


def test_stripe_down_shows_the_order_page_again_and_keeps_the_order(
    paying: Portal, fake: FakeStripe
) -> None:
    ann = new_customer(paying, "ann@example.com")
    fake.fail(1, 503, when=lambda call: call.path == "/v1/checkout/sessions")

    answer = paying.post("/order/app-starter", {"accept": "on"})

    assert answer.status_code == 503
    assert "We could not open Stripe&#39;s payment page" in answer.text
    assert "Your order is kept" in answer.text
    [waiting] = subscriptions(paying, ann.id)
    assert waiting.state == "pending"

    again = paying.post("/order/app-starter", {"accept": "on"})

    assert again.status_code == 303
    assert again.headers["location"].startswith("https://checkout.stripe.test/")
    assert [s.id for s in subscriptions(paying, ann.id)] == [waiting.id]  # reused, not doubled


def test_the_done_page_is_only_for_the_subscriptions_owner(paying: Portal) -> None:
    ann = new_customer(paying, "ann@example.com")
    paying.post("/order/app-starter", {"accept": "on"})
    [held] = subscriptions(paying, ann.id)
    other = paying.other_browser()
    new_customer(other, "bob@example.com")

    assert other.get(f"/order/done?subscription={held.id}").status_code == 404
    assert other.post(f"/subscriptions/{held.id}/checkout").status_code == 404
    missing = paying.get("/order/done")
    assert missing.status_code == 400
    assert "subscription" in missing.text


def test_the_order_page_states_what_is_agreed_and_asks_to_accept_it(portal: Portal) -> None:
    """Issue 11: the order page did not say what was due today, what followed, or what
    leaving early costs, and one click ordered."""
    ann = new_customer(portal, "ann@example.com")

    page = portal.get("/order/app-business").text

    assert "What you agree to" in page
    assert "Total due today" in page
    assert "a month, charged in advance" in page
    assert "6-month commitment" in page
    assert "the committed time left is invoiced: at most" in page  # with the amount
    assert "Prices exclude VAT" in page
    assert "I accept these terms" in page

    refused = portal.post("/order/app-business", {"support": ""})
    assert refused.status_code == 400
    assert "tick to accept these terms" in refused.text
    assert subscriptions(portal, ann.id) == []


def test_order_terms_price_the_first_period_as_stripe_bills_it() -> None:
    server = sample_catalog().get("server-m", 1)
    terms = order_terms(server, datetime(2026, 11, 16, tzinfo=UTC), prices_include_vat=True)
    # 15 of November's 30 days, then the month from 1 December.
    first = terms.today[-1]
    assert first.amount.minor == server.pricing.amount.minor // 2
    assert terms.then == server.pricing.amount
    assert terms.then_from == datetime(2026, 12, 1, tzinfo=UTC)
    assert terms.vat == "Prices include VAT."
    setup = server.pricing.setup_fee.minor if server.pricing.setup_fee else 0
    assert terms.due_today.minor == setup + server.pricing.amount.minor // 2


def test_order_terms_state_what_is_charged_when_the_trial_ends() -> None:
    """The trial ends mid-month; Stripe then bills the rest of that month at once, before
    the first full month. The terms said only "then ... from" the month after."""
    starter = sample_catalog().get("app-starter", 1)
    assert starter.pricing.trial_months == 1
    terms = order_terms(starter, datetime(2026, 12, 7, tzinfo=UTC), prices_include_vat=False)

    assert terms.after_trial is not None
    # 7 January to 1 February: 25 of January's 31 days.
    assert terms.after_trial.what == "2027-01-07 to 2027-02-01"
    expected = round(starter.pricing.amount.minor * 25 / 31)
    assert terms.after_trial.amount.minor == expected
    assert terms.then_from == datetime(2027, 2, 1, tzinfo=UTC)
    assert terms.due_today.minor == 0


def test_each_support_plan_offered_shows_its_terms_and_the_totals_with_it(portal: Portal) -> None:
    """Issue 11: a support plan was one dropdown away, with only its price: no commitment,
    no early-cancellation amount, no hours, rate or cap, and the totals left it out."""
    new_customer(portal, "ann@example.com")
    now = portal.clock()
    catalog = sample_catalog()
    hosting = order_terms(catalog.get("app-business", 1), now, prices_include_vat=False)
    contract = order_terms(catalog.get("support-10h", 1), now, prices_include_vat=False)

    page = portal.get("/order/app-business").text

    # Radio buttons in a fieldset, each described by its terms: readable without a script.
    assert "<legend>Add a support plan (optional)</legend>" in page
    assert '<label for="support-support-10h">' in page
    assert 'aria-describedby="support-support-10h-terms"' in page
    ten = terms_of(page, "support-10h")
    assert "Then 8400.00 EUR a year, charged in advance" in ten
    assert "12-month commitment; leaving early costs 1400.00 EUR." in ten
    assert "Leaving before the commitment ends costs 1400.00 EUR" in ten
    assert "10 h of support included each month (on the yearly fee)" in ten
    assert "unused hours expire at the end of the month" in ten
    assert "Hours beyond them: 85.00 EUR an hour, counted per 15 min" in ten
    due = hosting.due_today.minor + contract.due_today.minor
    assert (
        f"Your order with it: {Money('EUR', due)} due today, then 79.00 EUR a month and "
        "8400.00 EUR a year, plus hours beyond the 10 h included, at 85.00 EUR an hour."
    ) in ten

    twenty = terms_of(page, "support-20h")
    assert "The free trial ends on 2026-12-22; cancelling before then costs nothing." in twenty
    assert "When the trial ends: " in twenty  # the rest of December, billed at once
    assert "for 2026-12-22 to 2027-01-01, the rest of that month." in twenty
    assert "6-month commitment; a cancellation takes effect when the commitment ends" in twenty
    assert "9000.00 EUR over the whole commitment (6 x 1500.00 EUR)" in twenty
    assert "unused hours roll over for 3 months, at most 10 h in all" in twenty
    assert f"{hosting.due_today} due today, then 1579.00 EUR a month" in twenty

    payg = terms_of(page, "support-payg")
    assert "billed by the hour at 95.00 EUR, counted per 15 min, at least 30 min" in payg
    assert "Monthly cap: 10 h (950.00 EUR); more only with your approval." in payg
    assert "(at most 950.00 EUR a month without your approval)" in payg

    flat = terms_of(page, "support-flat")
    assert "4680.00 EUR over the whole commitment (12 x 390.00 EUR)" in flat
    assert "Extra work beyond usual support, only once agreed with you: 95.00 EUR an hour" in flat

    assert f"Your order: {hosting.due_today} due today, then 79.00 EUR a month." in page
    assert "I accept these terms, and those of the support plan I chose" in page


def test_the_terms_come_back_with_the_support_plan_chosen_in_the_totals(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")

    refused = portal.post("/order/app-business", {"support": "support-10h"})

    assert refused.status_code == 400
    assert "tick to accept these terms" in refused.text
    assert 'id="support-support-10h" value="support-10h" checked' in refused.text
    summary = refused.text[: refused.text.index('action="/order/app-business"')]
    assert "Support Contract 10 h, 2026-11-22 to 2026-12-01" in summary  # its line, due today
    assert "Total due today, with Support Contract 10 h" in summary
    assert "Leaving before the commitment ends costs 1400.00 EUR" in summary
    assert "then 79.00 EUR a month and 8400.00 EUR a year" in summary
    assert subscriptions(portal, ann.id) == []


def test_an_order_total_adds_what_is_due_today_and_keeps_each_period_apart() -> None:
    catalog, now = sample_catalog(), datetime(2026, 11, 16, tzinfo=UTC)
    parts = [
        order_terms(catalog.get(plan, 1), now, prices_include_vat=False)
        for plan in ("app-business", "support-10h", "support-payg")
    ]

    total = order_total(parts)

    assert total.today == tuple(line for part in parts for line in part.today)
    assert total.due_today.minor == sum(part.due_today.minor for part in parts)
    assert total.per_period == ((Money("EUR", 7900), "month"), (Money("EUR", 840000), "year"))
    assert total.then == (
        "79.00 EUR a month and 8400.00 EUR a year, plus hours beyond the 10 h included, at "
        "85.00 EUR an hour and the hours used, at 95.00 EUR an hour (at most 950.00 EUR a "
        "month without your approval)"
    )


def terms_of(page: str, support_id: str) -> str:
    """The terms shown with one support plan on the order page."""
    start = page.index(f'<div id="support-{support_id}-terms"')
    return page[start : page.index("</div>", start)]
