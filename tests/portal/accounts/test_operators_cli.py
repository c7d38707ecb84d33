"""``dockyard operators create|token`` on a scratch SQLite file, and the token it prints
opening the API of a portal on the same database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from click.testing import CliRunner, Result
from litestar.testing import TestClient

from portal.accounts.models import Role, User
from portal.accounts.passwords import verify_password
from portal.accounts.service import Accounts, SignUp
from portal.app import create_app
from portal.cli import dockyard
from portal.mail import make_mailer
from portal.runtime import Runtime
from portal.settings import DatabaseSettings, MailSettings, Settings, WebSettings
from tests.fixtures.portal import PASSWORD


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'ops.sqlite3'}"),
        web=WebSettings(secret_file=tmp_path / "secret.key"),
        mail=MailSettings(outbox_file=tmp_path / "mail.txt"),
    )


def invoke(tmp_path: Path, *args: str, password: str | None = None) -> Result:
    env = {
        "DOCKYARD_DATABASE_URL": settings_for(tmp_path).database.url,
        "DOCKYARD_MAIL_OUTBOX": str(tmp_path / "mail.txt"),
        "DOCKYARD_STRIPE_SECRET_KEY": "",
        "DOCKYARD_NEW_PASSWORD": password or "",
    }
    return CliRunner().invoke(dockyard, ["operators", *args], env=env)


def user(tmp_path: Path, email: str) -> User | None:
    async def find() -> User | None:
        runtime = Runtime(settings_for(tmp_path))
        async with runtime.database() as sessions:
            billing = runtime.billing_context(sessions)
            accounts = Accounts(sessions, billing, make_mailer(runtime.settings.mail), "")
            return await accounts.by_email(email)

    return asyncio.run(find())


def test_create_prints_a_generated_password_once_and_refuses_a_taken_email(
    tmp_path: Path,
) -> None:
    created = invoke(tmp_path, "create", "Ops@Example.com", "--name", "Olga Ops")

    assert created.exit_code == 0, created.output
    assert created.output.startswith("operator ops@example.com created")
    match = re.search(r"password: (\S+)", created.output)
    assert match is not None
    stored = user(tmp_path, "ops@example.com")
    assert stored is not None
    assert (stored.role, stored.name, stored.customer_id) == ("operator", "Olga Ops", None)
    assert verify_password(stored.password_hash, match.group(1))

    taken = invoke(tmp_path, "create", "ops@example.com")
    assert taken.exit_code == 1
    assert "ops@example.com already has an account" in taken.output
    kept = invoke(tmp_path, "create", "ops@example.com", "--if-missing")
    assert kept.exit_code == 0
    assert "already exists; left as it is" in kept.output


def test_finance_users_take_their_password_from_the_environment(tmp_path: Path) -> None:
    weak = invoke(tmp_path, "create", "fin@example.com", "--role", "finance", password="short")
    assert weak.exit_code == 1
    assert "password" in weak.output
    assert user(tmp_path, "fin@example.com") is None

    created = invoke(tmp_path, "create", "fin@example.com", "--role", "finance", password=PASSWORD)
    assert created.exit_code == 0, created.output
    assert "password:" not in created.output  # chosen, so not printed
    stored = user(tmp_path, "fin@example.com")
    assert stored is not None
    assert stored.role == Role.FINANCE
    assert verify_password(stored.password_hash, PASSWORD)


def test_a_printed_token_opens_the_api_and_customers_get_none(tmp_path: Path) -> None:
    assert invoke(tmp_path, "create", "ops@example.com").exit_code == 0
    issued = invoke(tmp_path, "token", "ops@example.com", "--name", "backup script")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert re.fullmatch(r"dy_[A-Za-z0-9_-]{40,}", token)

    unknown = invoke(tmp_path, "token", "nobody@example.com")
    assert unknown.exit_code == 1
    assert "no user nobody@example.com" in unknown.output

    with TestClient(create_app(Runtime(settings_for(tmp_path)))) as client:
        accounts: Accounts = client.app.state.services.accounts
        client.blocking_portal.call(accounts.sign_up, SignUp("ann@example.com", PASSWORD, "Ann"))
        answer = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert [row["email"] for row in answer.json()] == ["ann@example.com"]
        wrong = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401

    refused = invoke(tmp_path, "token", "ann@example.com")
    assert refused.exit_code == 1
    assert "API tokens are for operator and finance users" in refused.output
