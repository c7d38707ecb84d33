"""Customers' networks made while they are in Stripe Checkout; removed if they leave.

The engine makes networks one at a time, a second or more each on a host with many
bridges (each adds iptables rules): a customer's first instance that makes its own
waits for it, and twenty new customers at once wait for one another's. A pending
hosting subscription says an instance is coming, so the worker makes the network then,
while the customer pays; provisioning finds it made. A checkout abandoned (expired, or
cancelled before any instance) leaves no network behind once nothing of theirs runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from billing import SubscriptionState
from provisioner import DesiredState, Provisioner, ProvisioningError

# Stripe expires a Checkout Session 24 hours after it was made, at the latest.
CHECKOUT_LIFETIME = timedelta(hours=24)


@dataclass
class CheckoutNetworks:
    """Whose network to make and whose to remove, gathered over one sync of every
    subscription (a customer may hold several): ``grace`` bounds how long an abandoned
    checkout is looked at again, so the work does not grow with history."""

    now: datetime
    grace: timedelta
    paying: set[str] = field(default_factory=set)  # in checkout now
    served: set[str] = field(default_factory=set)  # have or are getting an instance
    abandoned: set[str] = field(default_factory=set)

    def note(
        self,
        customer: str,
        state: str,
        desired: DesiredState,
        instance_ref: str | None,
        created_at: datetime,
        ended_at: datetime | None,
    ) -> None:
        if instance_ref is not None or desired is DesiredState.RUNNING:
            self.served.add(customer)
        elif state == SubscriptionState.PENDING:
            age = self.now - created_at
            if age < CHECKOUT_LIFETIME:
                self.paying.add(customer)
            elif age < CHECKOUT_LIFETIME + self.grace:
                self.abandoned.add(customer)
        elif self.now - (ended_at or created_at) < self.grace:
            self.abandoned.add(customer)  # ended before any instance was made

    async def apply(self, provisioner: Provisioner, report: NetworkReport) -> None:
        """Make the paying customers' networks; remove the abandoned ones' unless
        something of theirs is live. One customer's trouble does not stop the others."""
        for customer in sorted(self.paying):
            try:
                await provisioner.prepare_network(customer)
                report.networks_made.append(customer)
            except ProvisioningError as error:
                report.errors.append(f"network of customer {customer}: {error}")
        for customer in sorted(self.abandoned - self.paying - self.served):
            try:
                if await provisioner.release_network(customer):
                    report.networks_removed.append(customer)
            except ProvisioningError as error:
                report.errors.append(f"network of customer {customer}: {error}")


class NetworkReport(Protocol):
    networks_made: list[str]
    networks_removed: list[str]
    errors: list[str]
