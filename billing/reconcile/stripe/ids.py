"""Stripe's ids turned into ours: ``cus_...`` → customer, ``sub_...`` → subscription.

Dockyard stores the link on its own rows (``Customer.stripe_customer_id``,
``Subscription.stripe_subscription_id``); that link wins. Our ids in an object's
``metadata`` (``dockyard_customer_id``, ``dockyard_subscription_id``, written by the outbox on
every object it creates) are the fallback, for objects whose link was never stored, e.g. a
webhook that was lost. A metadata id is taken only if it names a customer or subscription
Dockyard has: anyone with dashboard access can type metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from billing.invoices import CUSTOMER_METADATA_KEY as CUSTOMER_KEY
from billing.repository.stripe_links import StripeLink, StripeLinkRepository

SUBSCRIPTION_KEY = "dockyard_subscription_id"
ENTRY_KEY = "dockyard_entry_id"


@dataclass(frozen=True, slots=True)
class CustomerIndex:
    """Ours by Stripe's, built once per reconciliation from one query (see :meth:`load`)."""

    customers: Mapping[str, str] = field(default_factory=dict)  # cus_... → customer id
    subscriptions: Mapping[str, str] = field(default_factory=dict)  # sub_... → subscription
    owners: Mapping[str, str] = field(default_factory=dict)  # subscription id → customer id
    stripe_customers: Mapping[str, str] = field(default_factory=dict)  # customer → cus_...
    known: frozenset[str] = frozenset()  # every customer id Dockyard has

    @classmethod
    def of(cls, links: Iterable[StripeLink]) -> CustomerIndex:
        customers: dict[str, str] = {}
        subscriptions: dict[str, str] = {}
        owners: dict[str, str] = {}
        stripe_customers: dict[str, str] = {}
        known: set[str] = set()
        for link in links:
            known.add(link.customer_id)
            if link.stripe_customer_id:
                customers.setdefault(link.stripe_customer_id, link.customer_id)
                stripe_customers[link.customer_id] = link.stripe_customer_id
            if link.subscription_id is not None:
                owners[link.subscription_id] = link.customer_id
                if link.stripe_subscription_id:
                    subscriptions[link.stripe_subscription_id] = link.subscription_id
        return cls(customers, subscriptions, owners, stripe_customers, frozenset(known))

    @classmethod
    async def load(cls, session: AsyncSession) -> CustomerIndex:
        return cls.of(await StripeLinkRepository(session).links())

    def stripe_customer(self, customer_id: str) -> str | None:
        """The ``cus_...`` of one of our customers, None if it has none (yet)."""
        return self.stripe_customers.get(customer_id)

    def customer(self, stripe_customer_id: str | None, *metadata: Mapping[str, str]) -> str | None:
        """Our customer for a Stripe customer id, else the first known id in ``metadata``."""
        if stripe_customer_id and stripe_customer_id in self.customers:
            return self.customers[stripe_customer_id]
        for values in metadata:
            candidate = values.get(CUSTOMER_KEY)
            if candidate and candidate in self.known:
                return candidate
        return None

    def subscription(
        self, stripe_subscription_id: str | None, *metadata: Mapping[str, str]
    ) -> str | None:
        """Our subscription for a Stripe subscription id, else the first known one in
        ``metadata``."""
        if stripe_subscription_id and stripe_subscription_id in self.subscriptions:
            return self.subscriptions[stripe_subscription_id]
        for values in metadata:
            candidate = values.get(SUBSCRIPTION_KEY)
            if candidate and candidate in self.owners:
                return candidate
        return None

    def owner(self, subscription_id: str | None) -> str | None:
        return self.owners.get(subscription_id) if subscription_id else None
