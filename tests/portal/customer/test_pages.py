"""The dashboard, instance pages, support approvals, invoices, plan changes and
cancelling, as a customer uses them."""

from __future__ import annotations

import re

from billing.periods import add_months
from portal.accounts.models import Role
from portal.fleet_sync import SyncReport
from portal.worker import TickReport
from tests.fixtures.customer_portal import (
    add_invoice,
    entry,
    instance_of,
    log_time,
    mark_update_failed,
    new_customer,
    order,
    set_instance_state,
    subscription,
    tick_until_running,
)
from tests.fixtures.portal import Portal


def table_row(html: str, text: str) -> str:
    """The table row holding ``text``."""
    for row in re.findall(r"<tr>.*?</tr>", html, re.S):
        if text in row:
            return str(row)
    raise AssertionError(f"no row with {text!r}")


def synced(report: TickReport) -> SyncReport:
    """What the worker's tick did to the fleet (subscriptions applied to instances)."""
    done = report.done["instances"]
    assert isinstance(done, SyncReport), report
    return done


def flashes(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m)
        for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', html, re.S)
    ]


# -- dashboard ------------------------------------------------------------------------------


def test_a_new_customer_sees_an_empty_dashboard_with_a_way_to_order(portal: Portal) -> None:
    new_customer(portal, "ann@example.com")

    page = portal.get("/dashboard")

    assert page.status_code == 200
    assert "Hello Ann Example" in page.text
    assert "You have no subscriptions yet" in page.text
    assert "No invoices yet" in page.text


def test_staff_cannot_open_customer_pages(portal: Portal) -> None:
    portal.staff("op@example.com", Role.OPERATOR)

    assert portal.get("/dashboard").status_code == 403
    assert portal.get("/order/app-starter").status_code == 403


def test_subscriptions_show_state_period_trial_commitment_and_actions(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    starter = order(portal, ann, "app-starter")
    flat = order(portal, ann, "support-flat")

    page = portal.get("/dashboard").text

    row = table_row(page, "Application Starter")
    assert 'class="tag state-trialing"' in row
    # Issue 11: the calendar month was shown; the service runs from the order, a trial.
    assert "2026-11-22 \u2013 2026-12-22 (trial)" in row
    assert "on 2026-12-22" in row  # the first charge, when the free month ends
    assert "2026-11-01" not in row
    assert "being set up" in row  # no instance linked yet
    assert f'href="/subscriptions/{starter.id}/plan"' in row
    assert f'href="/subscriptions/{starter.id}/cancel"' in row
    support = table_row(page, "End-user Support Flat Rate")
    assert "2027-11-22" in support  # the 12-month commitment ends
    assert "2026-11-22 \u2013 2026-12-01" in support  # a partial first period
    assert "390.00" in support  # the price
    assert "on 2026-12-01" in support  # then the month, charged in advance
    assert "being set up" not in support
    assert f'href="/subscriptions/{flat.id}/cancel"' in support


def test_the_instance_page_refreshes_itself_until_the_instance_runs(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "app-starter")
    instance = tick_until_running(portal, held.id)
    set_instance_state(portal, instance.id, "provisioning")  # as while it starts

    starting = portal.get(f"/instances/{instance.id}")

    assert starting.status_code == 200
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in starting.text
    assert f'hx-get="/instances/{instance.id}/status"' in starting.text
    assert 'hx-trigger="every 2s"' in starting.text
    assert 'hx-swap="outerHTML"' in starting.text
    fragment = portal.get(f"/instances/{instance.id}/status")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith(("{#", "<section"))
    assert "<html" not in fragment.text
    assert 'hx-get="' in fragment.text

    set_instance_state(portal, instance.id, "running")
    running = portal.get(f"/instances/{instance.id}")

    assert 'http-equiv="refresh"' not in running.text
    assert "hx-get" not in running.text
    address = portal.run(lambda: fleet_address(portal, instance.id))
    assert f'href="{address}" target="_blank" rel="noopener"' in running.text
    assert "128 MB" in running.text  # its resources
    assert "Update history" in running.text
    # The first event, told for the customer (issue 11: operator internals were shown).
    assert "Ordered." in running.text
    assert "dockyard instances" not in running.text
    assert "revision" not in running.text
    assert "hx-get" not in portal.get(f"/instances/{instance.id}/status").text


async def fleet_address(portal: Portal, instance_id: str) -> str | None:
    fleet = await portal.services.provisioner()
    return fleet.address(await fleet.get(instance_id))


# -- support hours ----------------------------------------------------------------------------


def test_per_hour_support_shows_the_cap_and_waits_for_approval_over_it(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    order(portal, ann, "support-payg")
    log_time(portal, ann.id, 540, "Moved the mail server\nand checked the backups")
    over = log_time(portal, ann.id, 120, "Emergency fix of the shop")
    assert over.state == "pending_approval"

    page = portal.get("/dashboard").text

    assert "Waiting for your approval" in page
    approvals = page[page.index('id="approvals"') : page.index('id="h-instances"')]
    assert "Emergency fix of the shop" in approvals
    assert f'action="/support/entries/{over.id}/approve"' in approvals
    assert f'action="/support/entries/{over.id}/reject"' in approvals
    hours = page[page.index('id="support"') :]
    assert '<svg class="chart"' in hours
    assert 'class="bar-pending"' in hours  # the waiting 2 h drawn beside the 9 h used
    figures = table_row(hours[hours.index('class="figures"') :], "<td")
    assert re.findall(r'<td class="num">([^<]*)</td>', figures) == ["10 h", "9 h", "1 h", "2 h"]
    assert "Moved the mail server\nand checked the backups" in hours  # the note, as written

    approved = portal.post(f"/support/entries/{over.id}/approve")

    assert approved.status_code == 303
    assert entry(portal, over.id).state == "approved"
    after = portal.get("/dashboard").text
    assert "Approved: 2 h of support will be billed." in flashes(after)
    assert "Waiting for your approval" not in after


def test_rejecting_an_entry_over_the_cap_and_deciding_twice(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    order(portal, ann, "support-payg")
    log_time(portal, ann.id, 600, "A long month")
    over = log_time(portal, ann.id, 30, "One more question")

    assert portal.post(f"/support/entries/{over.id}/reject").status_code == 303
    assert entry(portal, over.id).state == "rejected"
    again = portal.post(f"/support/entries/{over.id}/approve")

    assert again.status_code == 303
    assert entry(portal, over.id).state == "rejected"
    assert any("Nothing changed" in text for text in flashes(portal.get("/dashboard").text))


def test_an_hour_bank_shows_included_used_remaining_and_overage(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    order(portal, ann, "support-20h")
    log_time(portal, ann.id, 1200, "Upgrade project")
    log_time(portal, ann.id, 100, "Follow-up questions")

    page = portal.get("/dashboard").text

    hours = page[page.index('id="support"') :]
    figures = table_row(hours[hours.index('class="figures"') :], "<td")
    # Included, rolled over, used (100 min rounded up to 105), remaining, over the bank.
    assert re.findall(r'<td class="num">([^<]*)</td>', figures) == [
        "20 h", "0 min", "21 h 45 min", "0 min", "1 h 45 min"
    ]  # fmt: skip
    assert 'class="bar-over"' in hours
    assert "Upgrade project" in hours
    assert "Waiting for your approval" not in page  # an hour bank has no cap to approve


# -- invoices -----------------------------------------------------------------------------------


def test_invoices_are_listed_with_stripes_hosted_page(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    add_invoice(portal, ann.id, "in_open1", status="open", total=3480)
    add_invoice(portal, ann.id, "in_paid2", status="paid", total=9000)

    page = portal.get("/dashboard").text

    row = table_row(page, "DY-PEN1")
    assert "34.80 EUR" in row
    assert 'class="tag state-open"' in row
    assert (
        '<a href="https://invoice.stripe.test/i/in_open1" target="_blank" rel="noopener">'
        "View and pay" in row
    )
    paid = table_row(page, "DY-AID2")
    assert 'class="tag state-paid"' in paid
    assert ">View<" in paid

    detail = portal.get("/invoices/in_open1")
    assert detail.status_code == 200
    assert "https://pay.stripe.test/invoice/in_open1/pdf" in detail.text
    assert "34.80 EUR" in detail.text


# -- changing plans -------------------------------------------------------------------------------


def test_an_upgrade_applies_now_and_the_instance_follows_the_plan(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "app-starter")
    tick_until_running(portal, held.id)

    form = portal.get(f"/subscriptions/{held.id}/plan")

    assert form.status_code == 200
    current = re.search(r'<div class="choice card current">.*?</div>', form.text, re.S)
    assert current is not None
    assert "Application Starter" in current.group(0)
    assert "your plan" in current.group(0)
    assert "An upgrade: it applies at once" in form.text
    # Ordered in its trial (a month): a trial is free to leave, the commitment waits.
    trial_ends = subscription(portal, held.id).trial_ends_at
    assert trial_ends is not None
    assert (
        f"It starts a 6-month commitment when your trial ends on {trial_ends:%Y-%m-%d}."
        in form.text
    )
    assert "Server S" not in form.text  # only plans of the same kind

    changed = portal.post(f"/subscriptions/{held.id}/plan", {"plan": "app-business"})

    assert changed.status_code == 303
    assert subscription(portal, held.id).plan_id == "app-business"
    assert subscription(portal, held.id).commitment_ends_at == add_months(trial_ends, 6)
    assert "You are now on Application Business." in flashes(portal.get("/dashboard").text)
    portal.tick()  # the worker moves the instance onto the new plan
    instance = instance_of(portal, held.id)
    assert (instance.plan_id, instance.memory_mb, instance.cpu_millis) == (
        "app-business",
        256,
        1000,
    )
    assert instance.state == "running"


def test_instances_move_when_existing_customers_move_to_a_new_version(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "server-s")  # version 1: 20 GB; version 2 (30 GB) moves them
    assert tick_until_running(portal, held.id).plan_version == 1

    portal.clock.advance(days=41)  # 2027-01-02: version 2's migrate_existing_from has come
    report = portal.tick()

    instance = instance_of(portal, held.id)
    assert synced(report).replanned == [instance.id]
    assert (instance.plan_version, instance.disk_gb) == (2, 30)
    # Billing moved too, at the period boundary, and queued the change for Stripe.
    assert subscription(portal, held.id).plan_version == 2


def test_a_plan_change_is_held_while_the_instances_last_update_failed(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "app-starter")
    instance = tick_until_running(portal, held.id)
    mark_update_failed(portal, instance.id, "health check failed on version 2")
    portal.post(f"/subscriptions/{held.id}/plan", {"plan": "app-business"})

    report = portal.tick()

    errors = synced(report).errors
    assert any("last update failed (health check failed on version 2)" in e for e in errors)
    assert instance_of(portal, held.id).plan_id == "app-starter"  # not retried every tick


def test_a_downgrade_waits_for_the_period_end(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "server-m")

    form = portal.get(f"/subscriptions/{held.id}/plan").text
    assert "A downgrade: it applies on 2026-12-01" in form

    answer = portal.post(f"/subscriptions/{held.id}/plan", {"plan": "server-s"})

    assert answer.status_code == 303
    after = subscription(portal, held.id)
    assert (after.plan_id, after.next_plan_id) == ("server-m", "server-s")
    page = portal.get("/dashboard").text
    assert "You move to Server S on 2026-12-01" in " ".join(flashes(page))
    assert "moves to Server S at a period end" in page


def test_a_change_to_a_plan_not_offered_is_refused_with_a_message(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "server-m")

    for wanted in ("support-payg", "server-m", "", "no-such-plan"):
        answer = portal.post(f"/subscriptions/{held.id}/plan", {"plan": wanted})
        assert answer.status_code == 400, wanted
        assert 'role="alert"' in answer.text
    assert subscription(portal, held.id).plan_id == "server-m"


# -- cancelling ---------------------------------------------------------------------------------


def test_cancelling_during_a_commitment_shows_the_charge_before_confirming(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "app-business")  # 6 months, pay_remaining

    preview = portal.get(f"/subscriptions/{held.id}/cancel")

    assert preview.status_code == 200
    assert "until 2027-05-22" in preview.text  # the commitment
    assert "<strong>2026-12-01</strong>" in preview.text  # when the service stops
    # Dec to Apr in full, and May 1st to the 22nd 01:30, at 79.00 a month.
    assert "<strong>448.68 EUR</strong>, invoiced at once" in preview.text
    assert subscription(portal, held.id).cancel_at is None  # nothing happened yet

    answer = portal.post(f"/subscriptions/{held.id}/cancel")

    assert answer.status_code == 303
    assert subscription(portal, held.id).cancel_at is not None
    message = " ".join(flashes(portal.get("/dashboard").text))
    assert "Application Business is cancelled: it ends on 2026-12-01" in message
    again = portal.get(f"/subscriptions/{held.id}/cancel").text
    assert "already cancelled from 2026-12-01" in again


def test_cancelling_an_end_of_term_plan_ends_with_the_commitment(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "support-flat")

    preview = portal.get(f"/subscriptions/{held.id}/cancel").text

    assert "<strong>2027-11-22</strong>" in preview
    assert "the cancellation takes effect when it ends" in preview
    assert "invoiced at once" not in preview
    portal.post(f"/subscriptions/{held.id}/cancel")
    assert f"{subscription(portal, held.id).cancel_at:%Y-%m-%d}" == "2027-11-22"

    # Issue 11: until it takes effect, the customer can change their mind.
    row = table_row(portal.get("/dashboard").text, "End-user Support Flat Rate")
    assert f'action="/subscriptions/{held.id}/keep"' in row
    assert "ends 2027-11-22" in row
    kept = portal.post(f"/subscriptions/{held.id}/keep")
    assert kept.status_code == 303
    assert subscription(portal, held.id).cancel_at is None
    board = portal.get("/dashboard").text
    assert "the cancellation is withdrawn" in board
    assert f'action="/subscriptions/{held.id}/keep"' not in board


def test_without_a_commitment_it_ends_at_the_period_end(portal: Portal) -> None:
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "server-s")

    preview = portal.get(f"/subscriptions/{held.id}/cancel").text

    assert "none running" in preview
    assert "<strong>2026-12-01</strong>" in preview


def test_the_dashboard_refreshes_itself_while_something_is_being_set_up(portal: Portal) -> None:
    """Issue 11: "being set up" stayed on the dashboard until the customer reloaded it."""
    ann = new_customer(portal, "ann@example.com")
    held = order(portal, ann, "app-starter")

    setting_up = portal.get("/dashboard").text
    assert 'hx-get="/dashboard" hx-trigger="every 3s"' in setting_up
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in setting_up

    tick_until_running(portal, held.id)
    settled = portal.get("/dashboard").text
    assert "hx-trigger" not in settled
    assert "http-equiv" not in settled
    assert "Ordered." in settled  # its history, in their words
