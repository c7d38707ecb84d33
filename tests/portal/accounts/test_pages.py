"""Signing up, in and out, password resets and the security around them, over HTTP."""

from __future__ import annotations

import email
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import TestClient

from portal.app import create_app
from portal.runtime import Runtime
from portal.settings import WebSettings
from portal.web.security import SESSION_COOKIE
from tests.fixtures.portal import PASSWORD, Portal


def test_a_newcomer_signs_up_and_lands_on_the_dashboard(portal: Portal) -> None:
    answer = portal.post(
        "/signup",
        {"email": "Ann@Example.com ", "name": "Ann", "company": "Ann Ltd", "password": PASSWORD},
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    user = portal.run(portal.services.accounts.by_email, "ann@example.com")
    assert user is not None
    assert user.role == "customer"
    assert user.customer_id is not None
    assert user.password_hash.startswith("$argon2id$")


def test_a_malformed_sign_up_shows_each_problem_and_keeps_what_was_typed(portal: Portal) -> None:
    answer = portal.post(
        "/signup", {"email": "not-an-email", "name": "", "company": "<b>X</b>", "password": "short"}
    )

    assert answer.status_code == 400
    assert "enter your name" in answer.text
    assert "&lt;b&gt;X&lt;/b&gt;" in answer.text  # escaped, and kept
    assert "<b>X</b>" not in answer.text


def test_a_taken_email_is_refused_without_a_second_account(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.sign_out()

    answer = portal.post(
        "/signup", {"email": "ann@example.com", "name": "Impostor", "password": PASSWORD}
    )

    assert answer.status_code == 400
    assert "already has an account" in answer.text


def test_sign_in_checks_the_password_and_sign_out_ends_the_session(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.sign_out()

    wrong = portal.post("/signin", {"email": "ann@example.com", "password": "not the password"})
    assert wrong.status_code == 400
    assert "do not match" in wrong.text

    portal.sign_in("ann@example.com")
    assert portal.get("/dashboard").status_code == 200
    portal.post("/signout")
    gone = portal.get("/dashboard")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/signin")


def test_sign_in_only_follows_a_next_path_on_this_site(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.sign_out()

    answer = portal.post(
        "/signin",
        {"email": "ann@example.com", "password": PASSWORD, "next": "https://evil.example/x"},
    )

    assert answer.headers["location"] == "/dashboard"


def test_a_form_without_the_csrf_token_is_refused(portal: Portal) -> None:
    portal.csrf()
    answer = portal.client.post(
        "/signup", data={"email": "a@example.com", "name": "A", "password": PASSWORD}
    )

    assert answer.status_code == 403
    assert portal.run(portal.services.accounts.by_email, "a@example.com") is None


def test_a_forgotten_password_is_reset_through_the_mailed_link_once(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.sign_out()

    assert portal.post("/password/forgot", {"email": "ann@example.com"}).status_code == 200
    unknown = portal.post("/password/forgot", {"email": "nobody@example.com"})
    assert unknown.status_code == 200  # the same answer: the form does not reveal accounts

    outbox = portal.settings.mail.outbox_file.read_text()
    mail = email.message_from_string(outbox)
    assert mail["To"] == "ann@example.com"
    link = re.search(r"/password/reset\?token=(\S+)", outbox)
    assert link is not None
    token = link.group(1)

    changed = portal.post("/password/reset", {"token": token, "password": "a brand new password"})
    assert changed.status_code == 303
    again = portal.post("/password/reset", {"token": token, "password": "yet another password"})
    assert again.status_code == 400
    assert "expired or was used" in again.text
    portal.sign_in("ann@example.com", "a brand new password")


def test_a_reset_link_expires_after_an_hour(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.post("/password/forgot", {"email": "ann@example.com"})
    token = re.findall(r"token=(\S+)", portal.settings.mail.outbox_file.read_text())[-1]

    portal.clock.advance(minutes=61)

    assert "has expired" in portal.get(f"/password/reset?token={token}").text
    answer = portal.post("/password/reset", {"token": token, "password": "a brand new password"})
    assert answer.status_code == 400


def test_session_cookies_are_http_only_and_same_site(portal: Portal) -> None:
    portal.csrf()
    answer = portal.post(
        "/signup", {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}
    )

    cookie = next(
        value
        for key, value in answer.headers.multi_items()
        if key == "set-cookie" and value.startswith("dockyard_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # development; production adds it (next test)


def test_production_cookies_are_secure(portal: Portal) -> None:
    settings = portal.settings
    production = type(settings)(
        **{
            **{name: getattr(settings, name) for name in settings.__dataclass_fields__},
            "web": WebSettings(
                environment="production",
                secret_key="x" * 40,
                signin_attempts_per_minute=1000,
            ),
        }
    )
    app = create_app(Runtime(production, clock=portal.clock))
    # Secure cookies only travel over HTTPS, so this browser speaks it.
    with TestClient(app, base_url="https://testserver.local") as client:
        client.get("/signin")
        csrf = client.cookies["dockyard_csrf"]
        answer = client.post(
            "/signup",
            data={"_csrf_token": csrf, "email": "b@example.com", "name": "B", "password": PASSWORD},
            follow_redirects=False,
        )
        assert "Strict-Transport-Security" in answer.headers
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    assert any(c.startswith("dockyard_session=") and "Secure" in c for c in cookies)


def test_security_headers_are_on_every_page(portal: Portal) -> None:
    answer = portal.get("/signin")

    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"


def test_a_new_password_signs_out_every_session_begun_with_the_old_one(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    laptop = portal.other_browser()
    laptop.sign_in("ann@example.com")
    assert laptop.get("/dashboard").status_code == 200

    portal.post("/password/forgot", {"email": "ann@example.com"})
    token = re.findall(r"token=(\S+)", portal.settings.mail.outbox_file.read_text())[-1]
    portal.post("/password/reset", {"token": token, "password": "a brand new password"})

    stale = laptop.get("/dashboard")
    assert stale.status_code == 303
    assert stale.headers["location"].startswith("/signin")
    laptop.sign_in("ann@example.com", "a brand new password")
    assert laptop.get("/dashboard").status_code == 200


def test_sign_in_returns_to_the_whole_address_asked_for(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    portal.sign_out()

    asked = portal.get("/dashboard?tab=hours&sort=new")
    target = parse_qs(urlsplit(asked.headers["location"]).query)["next"][0]
    answer = portal.post(
        "/signin", {"email": "ann@example.com", "password": PASSWORD, "next": target}
    )

    assert target == "/dashboard?tab=hours&sort=new"
    assert answer.headers["location"] == "/dashboard?tab=hours&sort=new"


def test_forms_may_lead_to_the_configured_checkout_and_nowhere_else() -> None:
    """Checkout is reached by a redirect after a form post, which browsers check against
    ``form-action``: a Stripe-compatible server elsewhere needs its origin there."""
    from billing.settings import StripeSettings
    from portal.web.security import security_headers

    def form_action(settings: StripeSettings) -> str:
        [csp] = [h.value for h in security_headers(WebSettings(), settings.checkout_origin)
                 if h.name == "Content-Security-Policy"]  # fmt: skip
        [directive] = [d.strip() for d in (csp or "").split(";") if "form-action" in d]
        return directive

    assert form_action(StripeSettings()) == "form-action 'self' https://checkout.stripe.com"
    local = StripeSettings.from_env({"DOCKYARD_STRIPE_CHECKOUT_ORIGIN": "http://127.0.0.1:12111"})
    assert form_action(local) == "form-action 'self' http://127.0.0.1:12111"


@pytest.mark.parametrize(
    "value",
    ["https://checkout.stripe.com; script-src *", "https://a.test https://b.test", "ftp://x", "/c"],
)
def test_a_checkout_origin_that_is_not_one_is_refused_with_its_name(value: str) -> None:
    from billing.settings import StripeSettings

    with pytest.raises(ValueError, match=r"DOCKYARD_STRIPE_CHECKOUT_ORIGIN=.*expected an origin"):
        StripeSettings.from_env({"DOCKYARD_STRIPE_CHECKOUT_ORIGIN": value})


def test_a_form_that_is_not_utf8_or_holds_a_nul_is_refused_not_stored(portal: Portal) -> None:
    """Issue 11: malformed UTF-8 was stored as replacement characters in an address, and a
    NUL byte reached PostgreSQL (a 500)."""
    token = portal.csrf()
    garbled = f"_csrf_token={token}&email=ann%FF%FE@example.com&name=Ann&password={PASSWORD}"
    answer = portal.client.post(
        "/signup",
        content=garbled.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 400
    assert "not sent as UTF-8" in answer.text
    nul = portal.post(
        "/signup", {"email": "ann@example.com", "name": "A\x00n", "password": PASSWORD}
    )
    assert nul.status_code == 400
    assert "NUL" in nul.text
    for address in ("ann\ufffd\ufffd@example.com", "ann@example.com"):
        assert portal.run(portal.services.accounts.by_email, address) is None


def test_a_copied_session_cookie_stops_working_at_sign_out(portal: Portal) -> None:
    """Issue 11: sessions were client-side cookies valid 14 days: a copy kept working
    after its owner signed out."""
    portal.sign_up("ann@example.com")
    copied = portal.client.cookies.get(SESSION_COOKIE)
    assert copied
    thief = portal.other_browser()
    thief.client.cookies.set(SESSION_COOKIE, copied)
    assert thief.get("/dashboard").status_code == 200  # the copy works while it lives

    portal.post("/signout")

    gone = thief.get("/dashboard")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/signin")


def test_signing_in_gives_a_new_session_id(portal: Portal) -> None:
    """Session fixation: an id planted in a browser before it signs in names nothing."""
    portal.sign_up("ann@example.com")
    portal.sign_out()
    portal.client.cookies.set(SESSION_COOKIE, "planted-by-someone-else")
    answer = portal.post("/signin", {"email": "ann@example.com", "password": PASSWORD})

    assert answer.status_code == 303
    given = [c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert given
    assert "planted-by-someone-else" not in given[-1]
    attacker = portal.other_browser()
    attacker.client.cookies.set(SESSION_COOKIE, "planted-by-someone-else")
    assert attacker.get("/dashboard").status_code == 303


def test_the_account_page_lists_sessions_and_signs_the_others_out(portal: Portal) -> None:
    portal.sign_up("ann@example.com")
    laptop = portal.other_browser()
    laptop.client.headers["user-agent"] = "Laptop Firefox"
    laptop.sign_in("ann@example.com")

    mine = portal.get("/account")
    assert mine.status_code == 200
    assert "Laptop Firefox" in mine.text
    assert "(this browser)" in mine.text
    assert mine.text.count("<tr>") == 3  # the header and two sessions

    ended = portal.post("/account/sessions/end-others")
    assert ended.status_code == 303
    assert laptop.get("/dashboard").status_code == 303
    assert portal.get("/dashboard").status_code == 200
    assert "Laptop Firefox" not in portal.get("/account").text


def test_an_operator_signs_a_customer_out_everywhere(portal: Portal) -> None:
    ann = portal.sign_up("ann@example.com")
    ops = portal.other_browser()
    ops.staff("ops@example.com")

    done = ops.post(f"/ops/customers/{ann.customer_id}/sign-out-everywhere")

    assert done.status_code == 303
    assert portal.get("/dashboard").status_code == 303
    assert ops.get("/ops").status_code == 200  # the operator's own session stays


def test_guessing_one_accounts_password_from_many_addresses_is_slowed(portal: Portal) -> None:
    """Issue 11: the per-address limit never slowed guesses spread over many addresses.
    After five wrong passwords the account's sign-ins wait (429, Retry-After), without
    the password even being checked; the owner's own browser is never locked out."""
    portal.sign_up("ann@example.com")  # this browser is now known to the account
    portal.post("/signout")  # a real sign-out: the browser keeps what it knows
    attacker = portal.other_browser()
    right = {"email": "ann@example.com", "password": PASSWORD}
    for _ in range(5):
        wrong = attacker.post("/signin", {"email": "ann@example.com", "password": "guess!"})
        assert wrong.status_code == 400
    waiting = attacker.post("/signin", right)
    assert waiting.status_code == 429
    assert 1 <= int(waiting.headers["retry-after"]) <= 30
    assert "Too many wrong passwords for this account" in waiting.text

    newcomer = portal.other_browser()  # a browser the account has never seen waits too
    assert newcomer.post("/signin", right).status_code == 429
    assert portal.post("/signin", right).status_code == 303  # the owner's browser does not

    portal.clock.advance(seconds=31)  # the wait is over
    assert attacker.post("/signin", right).status_code == 303


def test_a_reset_flood_sends_three_mails_an_hour(portal: Portal) -> None:
    """Issue 11: 12 requests for one address in seconds sent 12 mails."""
    portal.sign_up("ann@example.com")
    portal.sign_out()
    for _ in range(12):
        answer = portal.post("/password/forgot", {"email": "ann@example.com"})
        assert answer.status_code == 200
        assert "a link to choose a new password is on its way" in answer.text
    mails = portal.settings.mail.outbox_file.read_text().count("Reset your Dockyard password")
    assert mails == 3
    portal.clock.advance(hours=1, seconds=1)
    portal.post("/password/forgot", {"email": "ann@example.com"})
    assert portal.settings.mail.outbox_file.read_text().count("Reset your Dockyard password") == 4
