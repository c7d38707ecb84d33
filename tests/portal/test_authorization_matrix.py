"""Every route of the app, asked by the wrong people: another customer finds nothing of
A's (404), customers are refused staff pages (403), anonymous visitors are sent to sign
in (the API answers 401), and the owner gets the page (200) or the action (303).

The routes are read from the app itself. A route that is neither public, nor staff's,
nor the API must be listed in CUSTOMER_ROUTES with how to fill it, so a new customer
route cannot ship without its ownership checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from litestar.routes import HTTPRoute

from portal.ssh.pages import keyring
from tests.fixtures.customer_portal import (
    Customer,
    add_invoice,
    log_time,
    new_customer,
    order,
    tick_until_running,
)
from tests.fixtures.portal import Portal
from tests.fixtures.ssh_keys import FIRST_KEY, SECOND_KEY


@dataclass(frozen=True)
class World:
    """Customer A's objects, which B and anonymous visitors try to reach."""

    a: Customer
    instance: str
    hosting: str  # the hosting subscription (linked to the instance)
    to_change: str  # a subscription whose plan A changes
    to_cancel: str  # a subscription A cancels
    to_approve: str  # support entries over the cap, waiting
    to_reject: str
    invoice: str
    ssh_key: str
    backup: str  # of A's instance


Fill = Callable[[World], dict[str, str]]


def nothing(_: World) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Case:
    path: Fill = nothing  # path parameters
    query: Fill = nothing
    form: Fill = nothing
    owned: bool = True  # the parameters name A's objects: B gets 404


# Public: anyone may open these (the catalog, signing in, health, Stripe's webhook...).
PUBLIC = {
    "/",
    "/plans/{plan_id:str}",
    "/signup",
    "/signin",
    "/password/forgot",
    "/password/reset",
    "/healthz",
    "/readyz",
    "/metrics",
    "/stripe/webhook",
    "/proxy/ask",  # the reverse proxy asks which names may get certificates
    "/static/{file_path:path}",
    "/favicon.ico",
}
PUBLIC_PREFIXES = ("/api/v1/schema",)  # the API's own documentation
SIGNED_IN_ONLY = {("POST", "/signout")}  # ends whoever's session it is: no object of anyone's
STAFF_PREFIXES = ("/ops", "/finance")
API_PREFIX = "/api/"

CUSTOMER_ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/dashboard"): Case(owned=False),
    # One's own account: only ever the signed-in user's sessions.
    ("GET", "/account"): Case(owned=False),
    ("POST", "/account/sessions/end-others"): Case(owned=False),
    ("GET", "/instances/{instance_id:str}"): Case(path=lambda w: {"instance_id": w.instance}),
    ("GET", "/instances/{instance_id:str}/status"): Case(
        path=lambda w: {"instance_id": w.instance}
    ),
    ("POST", "/instances/{instance_id:str}/backups"): Case(
        path=lambda w: {"instance_id": w.instance}
    ),
    ("GET", "/instances/{instance_id:str}/backups/{backup_id:str}/download"): Case(
        path=lambda w: {"instance_id": w.instance, "backup_id": w.backup}
    ),
    ("POST", "/instances/{instance_id:str}/backups/{backup_id:str}/restore"): Case(
        path=lambda w: {"instance_id": w.instance, "backup_id": w.backup}
    ),
    ("GET", "/order/{plan_id:str}"): Case(path=lambda w: {"plan_id": "app-starter"}, owned=False),
    ("POST", "/order/{plan_id:str}"): Case(
        path=lambda w: {"plan_id": "training-onboarding"},
        form=lambda w: {"accept": "on"},
        owned=False,
    ),
    ("GET", "/order/done"): Case(query=lambda w: {"subscription": w.hosting}),
    ("POST", "/subscriptions/{subscription_id:str}/checkout"): Case(
        path=lambda w: {"subscription_id": w.hosting}
    ),
    ("GET", "/subscriptions/{subscription_id:str}/plan"): Case(
        path=lambda w: {"subscription_id": w.to_change}
    ),
    ("POST", "/subscriptions/{subscription_id:str}/plan"): Case(
        path=lambda w: {"subscription_id": w.to_change}, form=lambda w: {"plan": "server-s"}
    ),
    ("GET", "/subscriptions/{subscription_id:str}/cancel"): Case(
        path=lambda w: {"subscription_id": w.to_cancel}
    ),
    ("POST", "/subscriptions/{subscription_id:str}/cancel"): Case(
        path=lambda w: {"subscription_id": w.to_cancel}
    ),
    ("POST", "/subscriptions/{subscription_id:str}/keep"): Case(
        path=lambda w: {"subscription_id": w.to_cancel}
    ),
    ("POST", "/support/entries/{entry_id:str}/approve"): Case(
        path=lambda w: {"entry_id": w.to_approve}
    ),
    ("POST", "/support/entries/{entry_id:str}/reject"): Case(
        path=lambda w: {"entry_id": w.to_reject}
    ),
    ("GET", "/invoices/{invoice_id:str}"): Case(path=lambda w: {"invoice_id": w.invoice}),
    ("POST", "/instances/{instance_id:str}/domains"): Case(
        path=lambda w: {"instance_id": w.instance}, form=lambda w: {"domain": "a.example.com"}
    ),
    ("POST", "/instances/{instance_id:str}/domains/{domain:str}/remove"): Case(
        path=lambda w: {"instance_id": w.instance, "domain": "a.example.com"}
    ),
    ("GET", "/ssh-keys"): Case(owned=False),
    ("POST", "/ssh-keys"): Case(form=lambda w: {"public_key": SECOND_KEY}, owned=False),
    ("POST", "/ssh-keys/{key_id:str}/remove"): Case(path=lambda w: {"key_id": w.ssh_key}),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as litestar writes it: /instances/{instance_id:str}
    params: dict[str, type] = field(default_factory=dict, compare=False, hash=False)

    def url(self, values: dict[str, str], query: dict[str, str] | None = None) -> str:
        url = self.path
        for name in self.params:
            url = url.replace(f"{{{name}:{self.path_type(name)}}}", values[name])
        return str(httpx.URL(url, params=query or {}))

    def path_type(self, name: str) -> str:
        start = self.path.index("{" + name + ":") + len(name) + 2
        return self.path[start : self.path.index("}", start)]


def app_routes(portal: Portal) -> list[Route]:
    found = []
    for route in portal.client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        params = {name: p.type for name, p in route.path_parameters.items()}
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            found.append(Route(method, route.path, params))
    return found


def is_public(route: Route) -> bool:
    return route.path in PUBLIC or route.path.startswith(PUBLIC_PREFIXES)


def is_staff(route: Route) -> bool:
    return any(route.path == p or route.path.startswith(p + "/") for p in STAFF_PREFIXES)


def is_api(route: Route) -> bool:
    return route.path.startswith(API_PREFIX) and not is_public(route)


def is_customer(route: Route) -> bool:
    signed_in_only = (route.method, route.path) in SIGNED_IN_ONLY
    return not (is_public(route) or is_staff(route) or is_api(route) or signed_in_only)


def any_values(route: Route, world: World) -> dict[str, str]:
    """Parameters for staff and API routes: A's ids where the name says what they are."""
    known = {
        "customer_id": world.a.id,
        "subscription_id": world.hosting,
        "instance_id": world.instance,
        "backup_id": world.backup,
    }
    return {
        name: "1" if kind is int else known.get(name, "x") for name, kind in route.params.items()
    }


def build_world(portal: Portal) -> World:
    a = new_customer(portal, "ann@example.com")
    hosting = order(portal, a, "app-starter", "support-payg")
    instance = tick_until_running(portal, hosting.id)
    to_change = order(portal, a, "server-m")
    to_cancel = order(portal, a, "server-s")
    log_time(portal, a.id, 600, "A month of questions")
    to_approve = log_time(portal, a.id, 30, "One more")
    to_reject = log_time(portal, a.id, 45, "And another")
    assert {to_approve.state, to_reject.state} == {"pending_approval"}
    invoice = add_invoice(portal, a.id, "in_matrix1")
    ssh_key = portal.run(keyring(portal.services).add, a.id, FIRST_KEY)
    backup = portal.run(_backup_of, portal, instance.id)
    return World(
        a=a,
        instance=instance.id,
        hosting=hosting.id,
        to_change=to_change.id,
        to_cancel=to_cancel.id,
        to_approve=to_approve.id,
        to_reject=to_reject.id,
        invoice=invoice.id,
        ssh_key=ssh_key.id,
        backup=backup,
    )


async def _backup_of(portal: Portal, instance_id: str) -> str:
    provisioner = await portal.services.provisioner()
    return (await provisioner.backups.take(instance_id)).id


def ask(who: Portal, route: Route, url: str, form: dict[str, str]) -> httpx.Response:
    if route.method == "GET":
        return who.get(url)
    if route.path.startswith(API_PREFIX):  # no cookies, no CSRF: tokens only
        return who.client.request(route.method, url, json=form, follow_redirects=False)
    return who.client.request(
        route.method, url, data={"_csrf_token": who.csrf(), **form}, follow_redirects=False
    )


def test_every_customer_route_is_in_the_matrix(portal: Portal) -> None:
    routes = app_routes(portal)
    customer = {(r.method, r.path) for r in routes if is_customer(r)}

    unlisted = customer - set(CUSTOMER_ROUTES)
    assert not unlisted, f"add these routes to CUSTOMER_ROUTES with their ownership: {unlisted}"
    stale = set(CUSTOMER_ROUTES) - customer
    assert not stale, f"CUSTOMER_ROUTES lists routes the app no longer has: {stale}"


def test_nobody_reaches_what_is_not_theirs(portal: Portal) -> None:
    world = build_world(portal)
    anonymous = portal.other_browser()
    bob = portal.other_browser()
    new_customer(bob, "bob@example.com")
    routes = [r for r in app_routes(portal) if not is_public(r)]
    wrong: list[str] = []

    def expect(who: str, route: Route, url: str, answer: httpx.Response, allowed: set[int]) -> None:
        if answer.status_code not in allowed:
            wrong.append(f"{who}: {route.method} {url} → {answer.status_code}, not {allowed}")

    for route in routes:
        case = CUSTOMER_ROUTES.get((route.method, route.path))
        values = case.path(world) if case else any_values(route, world)
        url = route.url(values, case.query(world) if case else None)
        form = case.form(world) if case else {}
        answer = ask(anonymous, route, url, form)
        if is_api(route):
            expect("anonymous", route, url, answer, {401})
            assert answer.headers["content-type"].startswith("application/json"), url
            expect("another customer", route, url, ask(bob, route, url, form), {401, 403})
            continue
        expect("anonymous", route, url, answer, {303})
        if answer.status_code == 303 and not answer.headers["location"].startswith("/signin"):
            wrong.append(f"anonymous: {route.method} {url} → {answer.headers['location']}")
        if is_staff(route):
            expect("a customer", route, url, ask(bob, route, url, form), {403})
        elif case is not None and case.owned:
            expect("another customer", route, url, ask(bob, route, url, form), {404})

    # Only now the owner: A's posts change things (a cancel, an approval) B must not have.
    for route in routes:
        case = CUSTOMER_ROUTES.get((route.method, route.path))
        if case is None:
            continue
        url = route.url(case.path(world), case.query(world))
        answer = ask(portal, route, url, case.form(world))
        expect("the owner", route, url, answer, {200} if route.method == "GET" else {303})

    assert not wrong, "\n".join(wrong)
