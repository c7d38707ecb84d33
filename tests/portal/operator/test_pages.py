"""The operator pages over HTTP: real customers signed up through the portal, real
instances on the engine, and only operators let in."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from billing.models import EntryState, OutboxState, SubscriptionState
from billing.repository.outbox import OutboxRepository
from billing.repository.webhooks import WebhookRepository
from billing.subscriptions.lifecycle import Subscriptions
from billing.support_time.ledger import Ledger
from plans.settings import BUNDLED_CATALOG, CatalogSettings
from portal.accounts.models import Role
from portal.app import create_app
from portal.operator.rollout_state import rollouts_of
from portal.runtime import Runtime
from provisioner.models import Instance, InstanceState
from provisioner.repository import InstanceRepository
from tests.fixtures.clock import MovableClock
from tests.fixtures.portal import Portal, portal_settings

OPS_PAGES = ["/ops", "/ops/customers", "/ops/outbox", "/ops/catalog", "/ops/rollouts"]


# -- helpers (test_api.py uses them too) ----------------------------------------------


@dataclass(frozen=True)
class Held:
    customer_id: str
    subscription_id: str


def customer(portal: Portal, email: str = "ann@example.com", name: str = "Ann Example") -> str:
    """A customer signed up through the portal (then signed out); returns their id."""
    user = portal.sign_up(email, name=name, company="Ann Ltd")
    portal.sign_out()
    assert user.customer_id is not None
    return user.customer_id


def subscribe(portal: Portal, customer_id: str, plan_id: str) -> str:
    async def go() -> str:
        subscriptions = Subscriptions(portal.services.billing)
        return (await subscriptions.subscribe(customer_id, plan_id, stripe_checkout=False)).id

    return portal.run(go)


def settle(portal: Portal, instance_id: str, within: float = 40.0) -> Instance:
    """Converge until the instance serves (running and healthy)."""

    async def go() -> Instance:
        provisioner = await portal.services.provisioner()
        deadline = asyncio.get_running_loop().time() + within
        while True:
            await provisioner.reconciler.converge(instance_id, force=True)
            instance = await provisioner.get(instance_id)
            if instance.state == InstanceState.RUNNING and instance.health in ("healthy", "none"):
                return instance
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{instance_id} is {instance.state}: {instance.reason}")
            await asyncio.sleep(0.3)

    return portal.run(go)


def instance_of(portal: Portal, instance_id: str) -> Instance:
    async def go() -> Instance:
        return await (await portal.services.provisioner()).get(instance_id)

    return portal.run(go)


def hosted(portal: Portal, email: str = "ann@example.com") -> tuple[Held, Instance]:
    """A customer with an app-starter subscription whose instance runs."""
    customer_id = customer(portal, email)
    subscription_id = subscribe(portal, customer_id, "app-starter")
    portal.tick()
    subscription = portal.run(Subscriptions(portal.services.billing).get, subscription_id)
    assert subscription.instance_ref is not None
    return Held(customer_id, subscription_id), settle(portal, subscription.instance_ref)


def dead_message(portal: Portal, error: str) -> int:
    """Stripe refuses the oldest pending outbox message for good."""

    async def go() -> int:
        async with portal.services.sessions() as session, session.begin():
            repository = OutboxRepository(session)
            [message] = await repository.claim_due("test", portal.clock(), timedelta(minutes=1), 1)
            assert await repository.mark_dead(message.id, "test", error)
            return message.id

    return portal.run(go)


async def _failed_instance(portal: Portal, customer_id: str) -> None:
    """An instance the engine could not start (as the reconciler records one)."""
    now = portal.clock()
    instance = Instance(
        id="ifailed00001",
        customer_ref=customer_id,
        plan_id="app-starter",
        plan_version=1,
        image="dockyard-demo",
        image_version="9",
        cpu_millis=500,
        memory_mb=128,
        disk_gb=5,
        max_processes=64,
        desired_state="running",
        state=InstanceState.FAILED.value,
        reason="image dockyard-demo:9 is not on the engine",
        revision=1,
        health="none",
        attempts=3,
        next_attempt_at=now + timedelta(minutes=5),
        created_at=now,
        updated_at=now,
    )
    async with portal.services.sessions() as session, session.begin():
        InstanceRepository(session).add(instance)


def flashes(page: str) -> list[str]:
    found = re.findall(r'class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    return [html.unescape(re.sub(r"\s+", " ", text).strip()) for text in found]


def follow(portal: Portal, answer: httpx.Response) -> str:
    """The page a 303 after a form post leads to."""
    assert answer.status_code == 303, answer.text
    page = portal.get(answer.headers["location"])
    assert page.status_code == 200
    return page.text


# -- who may see the pages ------------------------------------------------------------


def test_customers_and_finance_get_403_on_every_operator_page(portal: Portal) -> None:
    ann = customer(portal)
    portal.sign_in("ann@example.com")
    posts = [
        f"/ops/customers/{ann}/support",
        "/ops/subscriptions/s1/suspend",
        "/ops/subscriptions/s1/resume",
        "/ops/outbox/1/retry",
        "/ops/catalog/reload",
        "/ops/rollouts",
    ]
    pages = [*OPS_PAGES, f"/ops/customers/{ann}", "/ops/rollouts/r1", "/ops/rollouts/r1/progress"]

    for viewer in ("customer", "finance"):
        if viewer == "finance":
            portal.sign_out()
            portal.staff("fin@example.com", Role.FINANCE)
        for path in pages:
            assert portal.get(path).status_code == 403, (viewer, path)
        for path in posts:
            assert portal.post(path, {"reason": "x", "minutes": "5"}).status_code == 403, path

    portal.sign_out()
    anonymous = portal.get("/ops/customers")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/signin?next=/ops/customers"


# -- overview, customers, support time ------------------------------------------------


def test_every_page_renders_real_data_for_an_operator(portal: Portal) -> None:
    ann = customer(portal, "ann@example.com", "Ann <b>Example</b>")
    customer(portal, "bob@example.com", "Bob Builder")
    subscribe(portal, ann, "support-payg")
    dead = dead_message(portal, "No such customer: 'cus_gone'")
    portal.run(_failed_webhook, portal)
    portal.run(_failed_instance, portal, ann)
    portal.staff("ops@example.com")

    overview = portal.get("/ops")
    assert overview.status_code == 200
    assert "Something needs a look" in overview.text
    assert "No such customer: &#39;cus_gone&#39;" in overview.text
    assert "evt_broken" in overview.text
    assert "invoice not found" in overview.text
    assert re.search(r'state-active">active</span> 1', overview.text)
    assert re.search(r'state-failed">failed</span> 1', overview.text)
    assert "image dockyard-demo:9 is not on the engine" in overview.text

    listing = portal.get("/ops/customers?q=BUILDER")
    assert "Bob Builder" in listing.text
    assert "ann@example.com" not in listing.text
    everyone = portal.get("/ops/customers")
    assert "bob@example.com" in everyone.text
    assert "ann@example.com" in everyone.text
    assert "Ann &lt;b&gt;Example&lt;/b&gt;" in everyone.text  # escaped, never markup

    file = portal.get(f"/ops/customers/{ann}")
    assert file.status_code == 200
    assert "Pay-as-you-go Support" in file.text
    assert "ifailed00001" in file.text
    assert 'action="/ops/customers/' + ann + '/support"' in file.text
    assert 'name="_csrf_token"' in file.text
    assert "<b>Example</b>" not in file.text

    outbox = portal.get("/ops/outbox")
    assert f'action="/ops/outbox/{dead}/retry"' in outbox.text
    catalog = portal.get("/ops/catalog")
    assert "Application Starter" in catalog.text
    assert "dockyard-demo:1" in catalog.text
    rollouts = portal.get("/ops/rollouts")
    assert '<option value="app-starter"' in rollouts.text
    assert portal.get("/ops/customers/cnosuch").status_code == 404


async def _failed_webhook(portal: Portal) -> None:
    async with portal.services.sessions() as session, session.begin():
        repository = WebhookRepository(session)
        repository.add("evt_broken", "invoice.paid", {}, portal.clock())
        await session.flush()
        await repository.failed("evt_broken", "invoice not found in Stripe")


def test_logged_support_time_shows_and_time_over_the_cap_waits_for_approval(
    portal: Portal,
) -> None:
    ann = customer(portal)
    subscribe(portal, ann, "support-payg")  # per hour, 10 h a month without approval
    portal.staff("ops@example.com")

    first = portal.post(
        f"/ops/customers/{ann}/support",
        {"minutes": "600", "note": "Migrated <the> mail server", "category": "support"},
    )
    page = follow(portal, first)
    assert "600 min logged (600 min billable)." in flashes(page)
    assert "Migrated &lt;the&gt; mail server" in page
    assert "ops@example.com" in page

    over = portal.post(
        f"/ops/customers/{ann}/support",
        {"minutes": "30", "note": "One more question", "worked_at": "2026-11-20T10:00"},
    )
    page = follow(portal, over)
    [message] = flashes(page)
    assert "over the customer's monthly cap" in message
    assert "waits for their approval" in message
    assert "Waiting for the customer's approval" in page
    assert 'state-pending_approval">pending approval' in page
    entries = portal.run(Ledger(portal.services.billing).entries, ann)
    assert [entry.state for entry in entries] == [EntryState.PENDING_APPROVAL, EntryState.RECORDED]
    # Staff appear by display name (customers read it), not their e-mail address.
    assert {entry.staff for entry in entries} == {"ops"}


def test_bad_support_input_is_shown_beside_the_form(portal: Portal) -> None:
    ann = customer(portal)
    bob = customer(portal, "bob@example.com")
    subscribe(portal, ann, "support-payg")
    portal.staff("ops@example.com")

    bad = portal.post(
        f"/ops/customers/{ann}/support",
        {"minutes": "ten", "note": " ", "category": "gardening", "worked_at": "yesterday"},
    )
    assert bad.status_code == 400
    assert "a whole number from 1 to 1440" in bad.text
    assert "say what was done" in bad.text
    assert "choose one of the listed categories" in bad.text
    assert "a date such as 2026-11-20" in bad.text
    assert 'value="ten"' in bad.text  # what was typed stays

    future = portal.post(
        f"/ops/customers/{ann}/support",
        {"minutes": "30", "note": "Later", "worked_at": "2030-01-01"},
    )
    assert future.status_code == 400
    assert "is in the future" in future.text

    # Issue 11: each of these answered 500.
    for minutes, worked_at in (
        ("--5", ""),
        ("²", ""),
        ("99999999999999999999", ""),
        ("30", "0001-01-01T00:00:00+05:00"),
        ("30", "9999-12-31T23:59:59-05:00"),
    ):
        odd = portal.post(
            f"/ops/customers/{ann}/support",
            {"minutes": minutes, "note": "n", "worked_at": worked_at},
        )
        assert odd.status_code == 400, (minutes, worked_at, odd.status_code)
        assert "a whole number from 1 to 1440" in odd.text or "a date such as" in odd.text
    for too_big in (2**31, 2**64 + 1):
        answer = portal.post(f"/ops/outbox/{too_big}/retry", {})
        assert answer.status_code == 404, answer.status_code

    no_plan = portal.post(f"/ops/customers/{bob}/support", {"minutes": "30", "note": "Help"})
    assert no_plan.status_code == 409
    assert "has no support plan subscription" in no_plan.text


# -- suspending and resuming ----------------------------------------------------------


def test_suspend_and_resume_change_the_subscription_and_the_instance(portal: Portal) -> None:
    held, instance = hosted(portal)
    portal.staff("ops@example.com")

    no_reason = portal.post(f"/ops/subscriptions/{held.subscription_id}/suspend", {"reason": ""})
    assert no_reason.status_code == 400
    assert "say why" in no_reason.text

    # Issue 11: one click suspended a customer; the form now asks to confirm.
    unconfirmed = portal.post(
        f"/ops/subscriptions/{held.subscription_id}/suspend", {"reason": "Abuse report #4711"}
    )
    assert unconfirmed.status_code == 400
    assert "tick the box to confirm" in unconfirmed.text
    assert instance_of(portal, instance.id).state == InstanceState.RUNNING

    page = follow(
        portal,
        portal.post(
            f"/ops/subscriptions/{held.subscription_id}/suspend",
            {"reason": "Abuse report #4711", "confirm": "on"},
        ),
    )
    assert f"Subscription {held.subscription_id} suspended" in flashes(page)[0]
    subscription = portal.run(Subscriptions(portal.services.billing).get, held.subscription_id)
    assert (subscription.state, subscription.suspension_reason) == ("suspended", "manual")
    stopped = instance_of(portal, instance.id)
    assert (stopped.state, stopped.suspension_reason) == (InstanceState.STOPPED, "manual")
    assert stopped.reason == "ops@example.com: Abuse report #4711"
    assert "Abuse report #4711" in page
    assert "Resume</button>" in page

    portal.tick()  # the worker leaves an operator's suspension alone
    assert instance_of(portal, instance.id).state == InstanceState.STOPPED

    page = follow(portal, portal.post(f"/ops/subscriptions/{held.subscription_id}/resume"))
    assert f"Subscription {held.subscription_id} resumed" in flashes(page)[0]
    subscription = portal.run(Subscriptions(portal.services.billing).get, held.subscription_id)
    assert subscription.state == SubscriptionState.TRIALING
    assert subscription.suspension_reason is None
    resumed = settle(portal, instance.id)
    assert resumed.suspension_reason is None
    portal.tick()
    assert instance_of(portal, instance.id).state == InstanceState.RUNNING

    again = follow(portal, portal.post(f"/ops/subscriptions/{held.subscription_id}/resume"))
    assert "is not suspended by an operator" in flashes(again)[0]


# -- the outbox -----------------------------------------------------------------------


def test_a_dead_outbox_message_is_retried_from_the_page(portal: Portal) -> None:
    customer(portal)
    dead = dead_message(portal, "Invalid API key <sk_live_…>")
    portal.staff("ops@example.com")

    page = portal.get("/ops/outbox")
    assert "Invalid API key &lt;sk_live_…&gt;" in page.text
    assert "customer.create" in page.text

    page_after = follow(portal, portal.post(f"/ops/outbox/{dead}/retry"))
    assert f"Message {dead} (customer.create) is pending again, due now." in flashes(page_after)

    async def state() -> str:
        async with portal.services.sessions() as session:
            message = await OutboxRepository(session).get(dead)
            assert message is not None
            return message.state

    assert portal.run(state) == OutboxState.PENDING
    again = follow(portal, portal.post(f"/ops/outbox/{dead}/retry"))
    assert f"outbox message {dead} is not dead; nothing to retry" in flashes(again)
    assert portal.post("/ops/outbox/99999/retry").status_code == 404


# -- the catalog ----------------------------------------------------------------------


@pytest.fixture
def own_catalog(tmp_path: Path, portal_namespace: str) -> Iterator[tuple[Portal, Path]]:
    """A portal serving a copy of the sample catalog that the test may break."""
    directory = tmp_path / "catalog"
    shutil.copytree(BUNDLED_CATALOG, directory)
    clock = MovableClock()
    settings = portal_settings(
        tmp_path, portal_namespace, catalog=CatalogSettings(directory=directory)
    )
    with TestClient(create_app(Runtime(settings, clock=clock))) as client:
        yield Portal(client, clock, settings), directory


def test_a_broken_catalog_reload_keeps_the_last_good_one_and_shows_why(
    own_catalog: tuple[Portal, Path],
) -> None:
    portal, directory = own_catalog
    portal.staff("ops@example.com")
    assert "Application Starter" in portal.get("/ops/catalog").text  # loaded and serving
    hosting = directory / "application-hosting.yaml"
    good = hosting.read_text()
    hosting.write_text(good.replace('amount: "29.00"', 'amount: "twenty-nine"'))

    page = follow(portal, portal.post("/ops/catalog/reload"))

    assert "The catalog was not reloaded: 1 problem" in flashes(page)[0]
    assert "the last good catalog keeps serving" in page
    assert "application-hosting.yaml" in page
    assert "twenty-nine" in page
    assert "Application Starter" in page  # still served, at its old price
    assert portal.services.catalog().get("app-starter").pricing.amount.minor == 2900
    assert "The last reload" in portal.get("/ops").text

    hosting.write_text(good.replace("Application Starter", "Application Starter II"))
    page = follow(portal, portal.post("/ops/catalog/reload"))
    assert "The catalog was reloaded." in flashes(page)
    assert "Application Starter II" in page
    assert "The last reload failed" not in page


# -- rollouts -------------------------------------------------------------------------


def test_a_rollout_to_the_demo_images_other_version_finishes_and_shows_progress(
    portal: Portal,
) -> None:
    _, instance = hosted(portal)
    assert instance.image_version == "1"
    portal.staff("ops@example.com")

    bad = portal.post("/ops/rollouts", {"plan_id": "support-payg", "version": "no tags!"})
    assert bad.status_code == 400
    assert "is not an application-hosting plan" in bad.text
    assert "an image tag" in bad.text

    started = portal.post(
        "/ops/rollouts",
        {"plan_id": "app-starter", "version": "2", "parallel": "1", "ignore_window": "on"},
    )
    assert started.status_code == 303
    path = started.headers["location"]
    rollout_id = path.rsplit("/", 1)[1]
    tracker = rollouts_of(portal.client.app.state)

    # A health-gated replacement takes seconds: the page is still watching it.
    while_running = portal.get(path).text
    assert tracker.get(rollout_id).running
    assert f'hx-get="/ops/rollouts/{rollout_id}/progress"' in while_running
    assert '<noscript><meta http-equiv="refresh"' in while_running
    assert "0 done, 0 failed" in while_running
    again = portal.post("/ops/rollouts", {"plan_id": "app-starter", "version": "2"})
    assert again.status_code == 409
    assert "is still running" in again.text

    run = portal.run(tracker.wait, rollout_id)
    assert (run.outcome, run.done, run.failed) == ("succeeded", [instance.id], [])

    page = portal.get(path).text
    assert "succeeded" in page
    assert "1 done, 0 failed, 0 remaining of 1." in page
    assert "hx-get" not in page
    assert "http-equiv" not in page  # finished: no more polling
    panel = portal.get(f"{path}/progress")
    assert panel.status_code == 200
    assert "<html" not in panel.text
    assert rollout_id in portal.get("/ops/rollouts").text
    rolled = instance_of(portal, instance.id)
    assert (rolled.image_version, rolled.previous_image_version) == ("2", "1")
    assert portal.get("/ops/rollouts/rnosuch").status_code == 404

    # A version that dies at start: the instance keeps serving 2, and everyone can see why.
    failing = portal.post(
        "/ops/rollouts", {"plan_id": "app-starter", "version": "crash", "ignore_window": "on"}
    )
    failed_run = portal.run(tracker.wait, failing.headers["location"].rsplit("/", 1)[1])
    assert failed_run.outcome == "failed"
    page = portal.get(failing.headers["location"]).text
    assert "0 done, 1 failed, 0 remaining of 1." in page
    assert "dockyard-demo:2 keeps serving" in page
    assert instance_of(portal, instance.id).image_version == "2"
    overview = portal.get("/ops").text
    assert "Failed updates" in overview
    assert "dockyard-demo:crash" in overview


@pytest.fixture
def quick_start(tmp_path: Path, portal_namespace: str) -> Iterator[Portal]:
    """The portal as `make run` starts it (`dockyard serve --with-worker`): the worker runs
    in the web process, ticking while requests are served."""
    clock = MovableClock()
    settings = portal_settings(tmp_path, portal_namespace)
    app = create_app(Runtime(settings, clock=clock), worker_interval=0.2)
    with TestClient(app) as client:
        yield Portal(client, clock, settings)


def test_a_rollout_succeeds_with_the_worker_in_the_web_process(quick_start: Portal) -> None:
    """Issue 11: the web process and its in-process worker held leases under one holder
    id, so the worker's pass, re-entering the rollout's lease, removed the new revision
    while the rollout started it ("disappeared while starting"): 4 of 4 rollouts failed."""
    portal = quick_start
    _, instance = hosted(portal)
    portal.staff("ops@example.com")
    tracker = rollouts_of(portal.client.app.state)
    for version in ("2", "crash"):
        started = portal.post(
            "/ops/rollouts",
            {"plan_id": "app-starter", "version": version, "ignore_window": "on"},
        )
        assert started.status_code == 303, started.text
        run = portal.run(tracker.wait, started.headers["location"].rsplit("/", 1)[1])
        if version == "crash":  # fails at start, for its own reason: 2 keeps serving
            assert (run.outcome, run.done) == ("failed", []), run
            assert "disappeared" not in (run.failed[0].detail or ""), run
            assert instance_of(portal, instance.id).image_version == "2"
            continue
        assert (run.outcome, run.done, run.failed) == ("succeeded", [instance.id], []), run
        assert instance_of(portal, instance.id).image_version == version


def test_an_instance_has_its_own_operator_page_with_logs_restart_and_update(
    portal: Portal,
) -> None:
    """Issue 11: instance ids led nowhere; logs, a restart and a single-instance update
    were only on the command line."""
    held, instance = hosted(portal)
    portal.staff("ops@example.com")

    customer_page = portal.get(f"/ops/customers/{held.customer_id}").text
    assert f'href="/ops/instances/{instance.id}"' in customer_page
    shown = portal.get(f"/ops/instances/{instance.id}")
    assert shown.status_code == 200
    assert "dockyard-demo:1" in shown.text
    assert "Recent output" in shown.text
    assert '<pre class="logs">' in shown.text  # the application's own output

    restarted = portal.post(f"/ops/instances/{instance.id}/restart")
    assert restarted.status_code == 303
    assert "restarted" in portal.get(f"/ops/instances/{instance.id}").text

    updated = portal.post(f"/ops/instances/{instance.id}/update", {"version": "2"})
    assert updated.status_code == 303
    assert instance_of(portal, instance.id).image_version == "2"
    page = portal.get(f"/ops/instances/{instance.id}").text
    assert "update succeeded" in page
    assert portal.get("/ops/instances/inosuch").status_code == 404
