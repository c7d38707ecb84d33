"""Customers: normalised unique emails, search, and customer.create in the outbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.customers import Customers, normalise_email
from billing.errors import DuplicateEmail, InvalidCustomer, UnknownCustomer
from billing.models import Customer
from tests.fixtures.billing_subscriptions import (
    START,
    FakeRuntime,
    cli_root,
    offline_context,
    outbox,
)
from tests.fixtures.clock import MovableClock


def ids(customers: list[Customer]) -> list[str]:
    return [customer.id for customer in customers]


@pytest.fixture
def customers(engine: AsyncEngine) -> Customers:
    return Customers(offline_context(engine, MovableClock(START)))


async def test_create_normalises_and_queues_customer_create(customers: Customers) -> None:
    customer = await customers.create("  Ann@Example.COM ", " Ann Example ", "Example GmbH")

    assert re.fullmatch(r"c[0-9a-f]{12}", customer.id)
    assert (customer.email, customer.name, customer.currency) == (
        "ann@example.com",
        "Ann Example",
        "EUR",
    )
    assert customer.created_at == START
    (message,) = await outbox(customers.ctx)
    assert message.kind == "customer.create"
    assert message.idempotency_key == f"customer.create:{customer.id}"
    assert message.payload == {
        "customer_id": customer.id,
        "email": "ann@example.com",
        "name": "Ann Example",
        "company": "Example GmbH",
    }
    assert (await customers.get(customer.id)).email == "ann@example.com"


async def test_a_duplicate_email_is_refused_whatever_its_case(customers: Customers) -> None:
    first = await customers.create("ann@example.com", "Ann")

    with pytest.raises(DuplicateEmail, match=f"already used by {first.id}"):
        await customers.create("ANN@example.com ", "Ann Again")

    assert len(await customers.list()) == 1
    assert len(await outbox(customers.ctx)) == 1  # the refused one queued nothing


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.com", "a n@example.com", "a@b"])
def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidCustomer, match="not an email address"):
        normalise_email(email)


async def test_unknown_currency_and_empty_name_are_refused(customers: Customers) -> None:
    with pytest.raises(InvalidCustomer, match="unknown currency 'XXY'"):
        await customers.create("ann@example.com", "Ann", currency="xxy")
    with pytest.raises(InvalidCustomer, match="needs a name"):
        await customers.create("ann@example.com", "  ")
    usd = await customers.create("bob@example.com", "Bob", currency="usd")
    assert usd.currency == "USD"


async def test_find_searches_email_name_and_company(customers: Customers) -> None:
    ann = await customers.create("ann@shop.example", "Ann Miller", "Miller Bakery")
    bob = await customers.create("bob@example.com", "Bob Stone", "Stone_Works 100%")
    await customers.create("cy@example.org", "Cy Young")

    assert ids(await customers.find("MILLER")) == [ann.id]
    assert ids(await customers.find("shop.example")) == [ann.id]
    assert ids(await customers.find("bakery")) == [ann.id]
    assert await customers.find("example") != []
    # LIKE wildcards in the query are literal characters, not patterns.
    assert ids(await customers.find("_works 100%")) == [bob.id]
    assert ids(await customers.find("%")) == [bob.id]
    assert ids(await customers.find("nobody")) == []
    assert ids(await customers.list()) == ids(await customers.find(""))


async def test_an_unknown_customer_is_a_clear_error(customers: Customers) -> None:
    with pytest.raises(UnknownCustomer, match="no customer 'c000000000000'"):
        await customers.get("c000000000000")


# -- dockyard customers -----------------------------------------------------------------


def test_the_customers_commands(tmp_path: Path) -> None:
    root = cli_root(FakeRuntime(tmp_path / "cli.sqlite3", MovableClock(START)))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(root, list(args))
        return result.exit_code, result.output

    code, out = run("customers", "create", "Ann@Example.com", "--name", "Ann", "--company", "Acme")
    assert code == 0, out
    customer_id = out.split()[0]
    assert re.fullmatch(r"c[0-9a-f]{12}", customer_id)
    assert "ann@example.com" in out
    assert "(Acme)" in out
    run("customers", "create", "bob@example.com", "--name", "Bob", "--currency", "usd")

    code, out = run("customers", "list")
    assert (code, out.count("\n")) == (0, 2)
    code, out = run("customers", "list", "--search", "acme")
    assert (code, out.split()[0], out.count("\n")) == (0, customer_id, 1)
    assert run("customers", "list", "--search", "nobody") == (0, "no customers\n")

    code, out = run("customers", "show", customer_id)
    assert code == 0
    assert "not synced yet" in out
    assert "none" in out  # no subscriptions

    code, out = run("customers", "create", "ANN@example.com", "--name", "Ann")
    assert code == 1
    assert out.startswith("Error: the email 'ann@example.com' is already used by")
    assert "Traceback" not in out
    code, out = run("customers", "show", "c000000000000")
    assert (code, out) == (1, "Error: no customer 'c000000000000'\n")
