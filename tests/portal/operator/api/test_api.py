"""The operator JSON API over HTTP: bearer tokens, roles, typed bodies, the same actions
as the pages, and an OpenAPI schema of the API alone."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx

from billing.models import OutboxState
from portal.accounts.models import ApiToken, Role
from portal.accounts.repository import AccountRepository
from provisioner.models import InstanceState
from tests.fixtures.portal import PASSWORD, Portal
from tests.portal.operator.test_pages import (
    customer,
    dead_message,
    hosted,
    instance_of,
    settle,
    subscribe,
)


def token_for(portal: Portal, email: str, role: Role = Role.OPERATOR) -> str:
    """A staff user and an API token for them, as ``dockyard operators token`` issues."""
    user, _ = portal.run(portal.services.accounts.create_staff, email, role, "", PASSWORD)
    return portal.run(portal.services.accounts.issue_token, user.id, "tests")


class Api:
    def __init__(self, portal: Portal, token: str | None) -> None:
        self.portal = portal
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str) -> httpx.Response:
        return self.portal.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        # No CSRF token and no cookies: bearer tokens are the API's only credential.
        self.portal.client.cookies.clear()
        return self.portal.client.post(f"/api/v1{path}", json=body, headers=self.headers)


def test_the_api_wants_a_valid_token_and_finance_tokens_only_read(portal: Portal) -> None:
    ann = customer(portal)

    for headers in ({}, {"Authorization": "Bearer dy_not_a_token"}, {"Authorization": "Basic x"}):
        answer = portal.client.get("/api/v1/customers", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["status_code"] == 401
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    # A signed-in operator's session is not an API credential.
    portal.staff("ops@example.com")
    assert portal.client.get("/api/v1/customers").status_code == 401

    finance = Api(portal, token_for(portal, "fin@example.com", Role.FINANCE))
    assert finance.get("/customers").status_code == 200
    assert finance.get(f"/customers/{ann}").status_code == 200
    assert finance.get("/catalog").status_code == 200
    for path, body in [
        ("/catalog/reload", None),
        ("/subscriptions/s1/suspend", {"reason": "x"}),
        ("/subscriptions/s1/resume", None),
        (f"/customers/{ann}/support-entries", {"minutes": 5, "note": "x"}),
        ("/outbox/1/retry", None),
        ("/rollouts", {"plan_id": "app-starter", "version": "2"}),
    ]:
        refused = finance.post(path, body)
        assert refused.status_code == 403, path
        assert "only operator tokens may change things" in refused.json()["detail"]

    # Customers are never issued tokens; one planted in the database still opens nothing.
    customer_token = Api(portal, portal.run(_planted_token, portal, "ann@example.com"))
    for path in ("/customers", f"/customers/{ann}", "/outbox", "/catalog", "/rollouts"):
        assert customer_token.get(path).status_code == 403, path
    assert customer_token.post("/catalog/reload").status_code == 403


async def _planted_token(portal: Portal, email: str) -> str:
    token = "dy_planted_for_a_customer"
    user = await portal.services.accounts.by_email(email)
    assert user is not None
    async with portal.services.sessions() as session, session.begin():
        AccountRepository(session).add(
            ApiToken(
                id="tplanted",
                user_id=user.id,
                name="planted",
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                created_at=portal.clock(),
            )
        )
    return token


def test_customers_support_time_and_clear_errors(portal: Portal) -> None:
    ann = customer(portal, "ann@example.com", "Ann Example")
    bob = customer(portal, "bob@example.com", "Bob Builder")
    subscribe(portal, ann, "support-payg")
    api = Api(portal, token_for(portal, "ops@example.com"))

    found = api.get("/customers?q=builder").json()
    assert [row["email"] for row in found] == ["bob@example.com"]
    detail = api.get(f"/customers/{ann}").json()
    assert detail["customer"]["name"] == "Ann Example"
    [subscription] = detail["subscriptions"]
    assert (subscription["plan_id"], subscription["plan_name"]) == (
        "support-payg",
        "Pay-as-you-go Support",
    )
    assert detail["instances"] == []
    missing = api.get("/customers/cnosuch")
    assert (missing.status_code, missing.json()["status_code"]) == (404, 404)

    logged = api.post(
        f"/customers/{ann}/support-entries",
        {"minutes": 600, "note": "Mail migration", "worked_at": "2026-11-20T09:00:00Z"},
    )
    assert logged.status_code == 201
    body = logged.json()
    assert (body["state"], body["billable_minutes"], body["staff"]) == (
        "recorded",
        600,
        "ops",  # the display name customers read
    )
    over = api.post(f"/customers/{ann}/support-entries", {"minutes": 30, "note": "More"})
    assert over.json()["state"] == "pending_approval"
    assert "waits for their approval" in over.json()["message"]

    for body, field in [
        ({"minutes": "ten", "note": "x"}, "minutes"),
        ({"minutes": 0, "note": "x"}, "minutes"),
        ({"minutes": 30}, "note"),
        ({"minutes": 30, "note": "x", "category": "gardening"}, "category"),
        ({"minutes": 30, "note": "x", "worked_at": "yesterday"}, "worked_at"),
        ({"minutes": 30, "note": "x", "colour": "red"}, "colour"),
        # Issue 11: litestar coerced these; the API's types are exact.
        ({"minutes": "5", "note": "x"}, "minutes"),
        ({"minutes": 5, "note": "x", "extra_work": 0}, "extra_work"),
        # Issue 11: off the calendar once in UTC: these answered 500.
        ({"minutes": 30, "note": "x", "worked_at": "0001-01-01T00:00:00+05:00"}, "worked_at"),
        ({"minutes": 30, "note": "x", "worked_at": "9999-12-31T23:59:59-05:00"}, "worked_at"),
    ]:
        bad = api.post(f"/customers/{ann}/support-entries", body)
        assert bad.status_code == 400, body
        assert field in bad.json()["detail"], bad.json()
    naive = api.post(
        f"/customers/{ann}/support-entries",
        {"minutes": 30, "note": "x", "worked_at": "2026-11-20T09:00:00"},
    )
    assert naive.status_code == 400
    assert "has no timezone" in naive.json()["detail"]
    no_plan = api.post(f"/customers/{bob}/support-entries", {"minutes": 30, "note": "Help"})
    assert no_plan.status_code == 409
    assert "has no support plan subscription" in no_plan.json()["detail"]
    # Found by schemathesis: a well-formed request the plan refuses was a 400 naming a
    # CLI flag; the API's caller sent nothing malformed.
    no_extra = api.post(
        f"/customers/{ann}/support-entries", {"minutes": 30, "note": "x", "extra_work": True}
    )
    assert no_extra.status_code == 409
    assert no_extra.json()["detail"].startswith("extra work is for flat-rate support plans only")
    unknown = api.post("/customers/cnosuch/support-entries", {"minutes": 30, "note": "x"})
    assert unknown.status_code == 404
    # Issue 11: a NUL reached PostgreSQL (a 500) from a note, a path id or a search.
    nul = api.post(f"/customers/{ann}/support-entries", {"minutes": 30, "note": "a\x00b"})
    assert nul.status_code == 400
    assert "$.note" in nul.json()["detail"]  # the field named
    assert api.get("/customers/c%00x").status_code == 404  # no id holds one
    assert api.get("/customers?q=a%00b").status_code == 404


def test_suspend_and_resume_through_the_api(portal: Portal) -> None:
    held, instance = hosted(portal)
    api = Api(portal, token_for(portal, "ops@example.com"))

    assert api.post(f"/subscriptions/{held.subscription_id}/suspend", {}).status_code == 400
    blank = api.post(f"/subscriptions/{held.subscription_id}/suspend", {"reason": "  "})
    assert blank.status_code == 400
    assert blank.json()["detail"].startswith("reason:")
    not_suspended = api.post(f"/subscriptions/{held.subscription_id}/resume")
    assert not_suspended.status_code == 409
    assert "is not suspended by an operator" in not_suspended.json()["detail"]

    suspended = api.post(
        f"/subscriptions/{held.subscription_id}/suspend", {"reason": "Unpaid setup work"}
    )
    assert suspended.status_code == 200
    body = suspended.json()
    assert (body["subscription"]["state"], body["subscription"]["suspension_reason"]) == (
        "suspended",
        "manual",
    )
    assert (body["instance"]["state"], body["instance"]["suspension_reason"]) == (
        "stopped",
        "manual",
    )
    assert body["instance_problem"] is None
    portal.tick()
    assert instance_of(portal, instance.id).state == InstanceState.STOPPED

    resumed = api.post(f"/subscriptions/{held.subscription_id}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["subscription"]["state"] == "trialing"
    assert settle(portal, instance.id).suspension_reason is None
    assert api.post("/subscriptions/snosuch/resume").status_code == 404


def test_the_outbox_lists_by_state_and_revives_a_dead_message(portal: Portal) -> None:
    customer(portal)
    dead = dead_message(portal, "No such customer")
    api = Api(portal, token_for(portal, "ops@example.com"))

    [row] = api.get("/outbox?state=dead").json()
    assert (row["id"], row["kind"], row["last_error"]) == (
        dead,
        "customer.create",
        "No such customer",
    )
    assert api.get("/outbox?state=pending").json() == []
    wrong = api.get("/outbox?state=lost")
    assert wrong.status_code == 400
    assert "state" in wrong.json()["detail"]

    retried = api.post(f"/outbox/{dead}/retry")
    assert retried.status_code == 200
    assert retried.json()["state"] == OutboxState.PENDING
    again = api.post(f"/outbox/{dead}/retry")
    assert again.status_code == 409
    assert again.json()["detail"] == f"outbox message {dead} is not dead; nothing to retry"
    assert api.post("/outbox/99999/retry").status_code == 404
    # Beyond the database's integers (PostgreSQL refused 2**31 with a 500).
    for too_big in (2**31, 2**63, 2**64 + 1):
        assert api.post(f"/outbox/{too_big}/retry").status_code == 404, too_big


def test_a_rollout_that_fails_reports_the_instance_and_its_error(portal: Portal) -> None:
    _, instance = hosted(portal)
    api = Api(portal, token_for(portal, "ops@example.com"))

    # A well-formed id naming no application-hosting plan: 404 (schemathesis: a request
    # the schema allows is not "malformed").
    bad = api.post("/rollouts", {"plan_id": "support-payg", "version": "2"})
    assert bad.status_code == 404
    assert "is not an application-hosting plan" in bad.json()["detail"]
    assert (
        api.post("/rollouts", {"plan_id": "app-starter", "version": "no tags!"}).status_code == 400
    )
    assert api.post("/rollouts", {"plan_id": "app-starter"}).status_code == 400

    started = api.post(
        "/rollouts", {"plan_id": "app-starter", "version": "crash", "ignore_window": True}
    )
    assert started.status_code == 202
    rollout_id = started.json()["id"]
    assert started.json()["outcome"] == "running"

    deadline = time.monotonic() + 60
    while (progress := api.get(f"/rollouts/{rollout_id}").json())["outcome"] == "running":
        assert time.monotonic() < deadline, progress
        time.sleep(0.3)
    assert progress["outcome"] == "failed"
    assert progress["done"] == []
    assert progress["remaining"] == []
    [failed] = progress["failed"]
    assert failed["instance_id"] == instance.id
    assert "dockyard-demo:1 keeps serving" in failed["error"]
    assert instance_of(portal, instance.id).image_version == "1"
    assert [run["id"] for run in api.get("/rollouts").json()] == [rollout_id]
    assert api.get("/rollouts/rnosuch").status_code == 404


def test_the_catalog_and_its_reload(portal: Portal) -> None:
    api = Api(portal, token_for(portal, "ops@example.com"))

    catalog = api.get("/catalog").json()
    starter = next(plan for plan in catalog["plans"] if plan["id"] == "app-starter")
    assert (starter["amount_minor"], starter["currency"], starter["image"]) == (
        2900,
        "EUR",
        "dockyard-demo:1",
    )
    assert catalog["last_failure"] is None
    reloaded = api.post("/catalog/reload")
    assert reloaded.status_code == 200
    assert reloaded.json()["reloaded"] is True


def test_the_openapi_schema_lists_the_api_and_not_the_pages(portal: Portal) -> None:
    schema = portal.client.get("/api/v1/schema/openapi.json").json()

    paths = set(schema["paths"])
    assert {
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/support-entries",
        "/api/v1/subscriptions/{subscription_id}/suspend",
        "/api/v1/subscriptions/{subscription_id}/resume",
        "/api/v1/outbox",
        "/api/v1/outbox/{message_id}/retry",
        "/api/v1/rollouts",
        "/api/v1/rollouts/{rollout_id}",
        "/api/v1/catalog",
        "/api/v1/catalog/reload",
    } <= paths
    assert all(path.startswith("/api/v1/") for path in paths), sorted(paths)
    bearer = schema["components"]["securitySchemes"]["bearerToken"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    suspend = schema["paths"]["/api/v1/subscriptions/{subscription_id}/suspend"]["post"]
    assert suspend["security"] == [{"bearerToken": []}]
    assert "SuspendIn" in str(suspend["requestBody"])
    entry = schema["components"]["schemas"]["SupportEntryIn"]
    assert entry["properties"]["minutes"]["minimum"] == 1
    assert set(entry["required"]) == {"minutes", "note"}


def test_options_and_wrong_methods_answer_as_http_says(portal: Portal) -> None:
    """Issue 11: OPTIONS with a valid token answered 401; 405 carried no Allow."""
    api = Api(portal, token_for(portal, "ops@example.com"))
    options = portal.client.request("OPTIONS", "/api/v1/customers", headers=api.headers)
    assert options.status_code in (200, 204), options.text
    assert "GET" in options.headers["allow"]
    assert portal.client.request("OPTIONS", "/api/v1/customers").status_code == 401
    wrong = portal.client.put("/api/v1/customers", headers=api.headers)
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["allow"]
