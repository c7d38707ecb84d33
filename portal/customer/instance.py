"""One instance as its owner sees it, and whether it has settled in the state it should be."""

from __future__ import annotations

from dataclasses import dataclass, field

from plans import Catalog, Plan
from portal.customer.dashboard import plan_of
from portal.customer.instance_words import (
    CustomerEvent,
    customer_events,
    settled,
    status_words,
)
from provisioner import (
    Backup,
    DnsRecord,
    Instance,
    InstanceState,
    InstanceView,
    Provisioner,
    ProvisioningError,
)

LOG_LINES = 40


@dataclass(frozen=True, slots=True)
class InstancePage:
    view: InstanceView
    plan: Plan | None
    logs: str | None  # the application's recent output; None: not running or unavailable
    # The customer's own names for it, each with the DNS record that points it here;
    # None: no proxy serves names on this deployment.
    domains: list[DnsRecord] | None = None
    backups: list[Backup] = field(default_factory=list)  # newest first

    @property
    def instance(self) -> Instance:
        return self.view.instance

    @property
    def settled(self) -> bool:
        return settled(self.view.instance)

    @property
    def history(self) -> list[CustomerEvent]:
        return customer_events(self.view.events)

    @property
    def status_words(self) -> str | None:
        return status_words(self.view.instance)


async def instance_page(
    catalog: Catalog,
    provisioner: Provisioner,
    customer_id: str,
    instance_id: str,
    *,
    with_logs: bool = True,
) -> InstancePage:
    """Raises UnknownInstance (404) for an unknown instance and for another customer's."""
    view = await provisioner.view(instance_id, customer_ref=customer_id)
    instance = view.instance
    logs = None
    if with_logs and instance.state == InstanceState.RUNNING.value:
        try:
            logs = await provisioner.logs(instance.id, LOG_LINES, customer_ref=customer_id)
        except ProvisioningError:
            logs = None  # the page is useful without them
    domains = None
    if provisioner.serves_domains:
        names = await provisioner.domains.of(instance.id, customer_ref=customer_id)
        domains = [provisioner.domains.dns_record(instance.id, name) for name in names]
    backups = []  # the full page lists them; the status poll does not need them
    if with_logs:
        backups = await provisioner.backups.list(instance.id, customer_ref=customer_id)
    plan = plan_of(catalog, instance.plan_id, instance.plan_version)
    return InstancePage(view, plan, logs, domains, backups)
