"""Signing up, in and out, and resetting a forgotten password."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from billing import DuplicateEmail, InvalidCustomer
from portal.accounts.models import Role, User
from portal.accounts.passwords import password_version
from portal.accounts.service import AccountError, SignInsWaiting, SignUp
from portal.accounts.throttle import (
    KNOWN_BROWSER_COOKIE,
    KNOWN_BROWSER_LIFETIME,
    is_known_browser,
    known_browser_token,
)
from portal.mail import MailFailed
from portal.web.forms import read_form
from portal.web.rendering import flash, page, see_other
from portal.web.security import FRESH, secret_bytes
from portal.web.services import Services, ServicesDep, provide_services

log = logging.getLogger(__name__)


def home_of(role: str) -> str:
    return {Role.OPERATOR.value: "/ops", Role.FINANCE.value: "/finance"}.get(role, "/dashboard")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: ``next`` must not send people elsewhere after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _known_from_now(response: Redirect, services: Services, user: User) -> Redirect:
    """This browser is known to the account from now on (it signed up or in with the
    password): others' wrong guesses never make it wait (portal.accounts.throttle)."""
    web = services.runtime.settings.web
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        known_browser_token(secret_bytes(web), user.id),
        max_age=KNOWN_BROWSER_LIFETIME,
        httponly=True,
        secure=not web.development,
        samesite="lax",
    )
    return response


def _start_session(request: Request[Any, Any, Any], user: User) -> None:
    # A fresh session under a new id: whatever an attacker planted before sign-in is
    # dropped (portal.web.security.RotatingSessionBackend).
    request.clear_session()
    request.set_session(
        {
            "uid": user.id,
            "role": user.role,
            "email": user.email,
            "pv": password_version(user.password_hash),
            "ua": request.headers.get("user-agent", "")[:200],
            FRESH: True,
        }
    )


@get("/signup")
async def signup_form(
    request: Request[Any, Any, Any], plan: FromQuery[str | None] = None
) -> Template:
    return page(request, "account/signup.html", form={}, errors={}, plan=plan or "")


@post("/signup")
async def signup(request: Request[Any, Any, Any], services: ServicesDep) -> Template | Redirect:
    form = await read_form(request)
    email = form.text("email", required="enter your email address", limit=320)
    name = form.text("name", required="enter your name")
    company = form.text("company")
    password = form.values.get("password", "")
    plan = form.text("plan", limit=64)
    if form.ok:
        try:
            user = await services.accounts.sign_up(SignUp(email, password, name, company))
        except DuplicateEmail:
            form.errors["email"] = "this address already has an account: sign in instead"
        except InvalidCustomer as invalid:
            form.errors["email"] = str(invalid)
        except AccountError as problem:
            form.errors["password"] = str(problem).removeprefix("password: ")
        else:
            _start_session(request, user)
            flash(request, f"Welcome to Dockyard, {user.name}.")
            welcome = see_other(f"/order/{plan}" if plan else "/dashboard")
            return _known_from_now(welcome, services, user)
    values = {key: value for key, value in form.values.items() if key != "password"}
    return page(
        request, "account/signup.html", status_code=400, form=values, errors=form.errors, plan=plan
    )


@get("/signin")
async def signin_form(
    request: Request[Any, Any, Any], next: FromQuery[str | None] = None
) -> Template:
    return page(request, "account/signin.html", form={}, error=None, next=_safe_next(next) or "")


@post("/signin")
async def signin(request: Request[Any, Any, Any], services: ServicesDep) -> Template | Redirect:
    form = await read_form(request)
    email = form.text("email", limit=320)
    target = _safe_next(form.values.get("next"))
    secret = secret_bytes(services.runtime.settings.web)
    known = request.cookies.get(KNOWN_BROWSER_COOKIE)
    try:
        user = await services.accounts.authenticate(
            email,
            form.values.get("password", ""),
            known=lambda user_id: is_known_browser(secret, user_id, known),
        )
    except SignInsWaiting as waiting:
        waiting_page = page(
            request,
            "account/signin.html",
            status_code=HTTP_429_TOO_MANY_REQUESTS,
            form={"email": email},
            error=(
                "Too many wrong passwords for this account. Try again in "
                f"{waiting.seconds} seconds, sign in from a browser you used before, or "
                "choose a new password."
            ),
            next=target or "",
        )
        waiting_page.headers["Retry-After"] = str(waiting.seconds)
        return waiting_page
    if user is None:
        return page(
            request,
            "account/signin.html",
            status_code=400,
            form={"email": email},
            error="That email and password do not match an account.",
            next=target or "",
        )
    _start_session(request, user)
    return _known_from_now(see_other(target or home_of(user.role)), services, user)


@post("/signout")
async def signout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return see_other("/")


@get("/password/forgot")
async def forgot_form(request: Request[Any, Any, Any]) -> Template:
    return page(request, "account/forgot.html", sent=False, error=None, email="")


@post("/password/forgot")
async def forgot(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    form = await read_form(request)
    email = form.text("email", required="enter your email address", limit=320)
    if not form.ok:
        return page(
            request,
            "account/forgot.html",
            status_code=400,
            sent=False,
            error=form.errors["email"],
            email=email,
        )
    answer = page(request, "account/forgot.html", sent=True, error=None, email=email)
    # After the answer is sent: how long it takes never tells whether the address has an
    # account (a lookup and a mail, or nothing).
    answer.background = BackgroundTask(_mail_reset, services, email)
    return answer


async def _mail_reset(services: Services, email: str) -> None:
    try:
        await services.accounts.request_reset(email)
    except MailFailed as failed:
        log.warning("password reset mail for %r not sent: %s", email[:320], failed)


@get("/password/reset")
async def reset_form(
    request: Request[Any, Any, Any], services: ServicesDep, token: FromQuery[str] = ""
) -> Template:
    valid = bool(token) and await services.accounts.reset_is_valid(token)
    return page(request, "account/reset.html", token=token, valid=valid, error=None)


@post("/password/reset")
async def reset(request: Request[Any, Any, Any], services: ServicesDep) -> Template | Redirect:
    form = await read_form(request)
    token = form.values.get("token", "")
    try:
        await services.accounts.reset_password(token, form.values.get("password", ""))
    except AccountError as problem:
        return page(
            request,
            "account/reset.html",
            status_code=400,
            token=token,
            valid=True,
            error=str(problem),
        )
    flash(request, "Your password was changed. Sign in with the new one.")
    return see_other("/signin")


account_router = Router(
    path="/",
    route_handlers=[
        signup_form,
        signup,
        signin_form,
        signin,
        signout,
        forgot_form,
        forgot,
        reset_form,
        reset,
    ],
    dependencies={"services": Provide(provide_services)},
    include_in_schema=False,
)
