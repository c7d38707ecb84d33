"""``dockyard operators``: staff accounts (operator, finance) and their API tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from billing import DuplicateEmail, InvalidCustomer
from portal.accounts.models import Role
from portal.accounts.service import AccountError, Accounts
from portal.mail import make_mailer
from portal.runtime import Runtime

T = TypeVar("T")


def _with_accounts(runtime: Runtime, use: Callable[[Accounts], Awaitable[T]]) -> T:
    async def main() -> T:
        async with runtime.database() as sessions:
            billing = runtime.billing_context(sessions)
            mailer = make_mailer(runtime.settings.mail)
            return await use(Accounts(sessions, billing, mailer, runtime.settings.web.base_url))

    try:
        return asyncio.run(main())
    except DuplicateEmail as taken:
        raise click.ClickException(f"{taken.email} already has an account") from None
    except (AccountError, InvalidCustomer) as error:
        raise click.ClickException(str(error)) from None
    except (OSError, SQLAlchemyError) as error:
        raise click.ClickException(f"database: {str(error).splitlines()[0]}") from None


@click.group("operators")
def operators_group() -> None:
    """Staff accounts: operators run the fleet, finance reconciles."""


@operators_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([Role.OPERATOR.value, Role.FINANCE.value]),
    default=Role.OPERATOR.value,
    show_default=True,
)
@click.option("--name", default="", help="Shown in the portal and on support entries.")
@click.option(
    "--password",
    envvar="DOCKYARD_NEW_PASSWORD",
    default=None,
    help="Default: a generated one, printed once. Prefer the DOCKYARD_NEW_PASSWORD variable.",
)
@click.option("--if-missing", is_flag=True, help="Do nothing (and succeed) if the email exists.")
@click.pass_obj
def create_command(
    runtime: Runtime, email: str, role: str, name: str, password: str | None, if_missing: bool
) -> None:
    """Create a staff user who signs in at /signin."""

    async def create(accounts: Accounts) -> str:
        if if_missing and await accounts.by_email(email) is not None:
            return f"{email} already exists; left as it is"
        user, chosen = await accounts.create_staff(email, Role(role), name, password)
        shown = (
            "" if password else f"\npassword: {chosen}  (shown once; change it after signing in)"
        )
        return f"{user.role} {user.email} created{shown}"

    click.echo(_with_accounts(runtime, create))


@operators_group.command("token")
@click.argument("email")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
@click.pass_obj
def token_command(runtime: Runtime, email: str, name: str) -> None:
    """Issue an API token for /api/v1 (sent as "Authorization: Bearer TOKEN")."""

    async def issue(accounts: Accounts) -> str:
        user = await accounts.by_email(email)
        if user is None:
            raise AccountError(f"no user {email}; create one with dockyard operators create")
        return await accounts.issue_token(user.id, name)

    click.echo(_with_accounts(runtime, issue))
