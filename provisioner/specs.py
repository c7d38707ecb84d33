"""From a catalog plan and an instance row to what a backend runs."""

from __future__ import annotations

import secrets

from plans import ApplicationHostingPlan, Plan, ServerHostingPlan
from plans.model import Resources
from provisioner.backends.base import VolumeMount, WorkloadSpec
from provisioner.errors import ProvisioningError
from provisioner.models import Instance
from provisioner.settings import ProvisionerSettings

SERVER_VOLUMES = (VolumeMount("data", "/data"),)


def new_instance_id() -> str:
    # A DNS label (it becomes <id>.<base domain>) that no two instances share.
    return "i" + secrets.token_hex(5)


def hosting_plan(plan: Plan) -> ApplicationHostingPlan | ServerHostingPlan:
    if isinstance(plan, ApplicationHostingPlan | ServerHostingPlan):
        return plan
    raise ProvisioningError(
        f"plan {plan.id!r} is {plan.kind.value}; only hosting plans run as instances"
    )


def image_of(plan: ApplicationHostingPlan | ServerHostingPlan) -> tuple[str, str]:
    image = (
        plan.application.image if isinstance(plan, ApplicationHostingPlan) else plan.server.image
    )
    return image.name, image.version


def apply_resources(instance: Instance, resources: Resources) -> None:
    instance.cpu_millis = resources.cpu_millis
    instance.memory_mb = resources.memory_mb
    instance.disk_gb = resources.disk_gb
    instance.max_processes = resources.max_processes


def health_path_of(plan: ApplicationHostingPlan | ServerHostingPlan) -> str | None:
    """The HTTP path Dockyard probes (``provisioner.health``); None: a server, not probed."""
    if isinstance(plan, ApplicationHostingPlan):
        return plan.application.health_check_path
    return None


def workload_spec(
    instance: Instance,
    plan: ApplicationHostingPlan | ServerHostingPlan,
    settings: ProvisionerSettings,
    *,
    revision: int | None = None,
    image_version: str | None = None,
) -> WorkloadSpec:
    """The spec for the instance's current revision, or for the next one being rolled out."""
    if isinstance(plan, ApplicationHostingPlan):
        app = plan.application
        port, health = app.port, health_path_of(plan)
        environment = app.environment
        volumes = tuple(VolumeMount(volume.name, volume.path) for volume in app.volumes)
    else:
        port, health, environment, volumes = plan.server.port, None, (), SERVER_VOLUMES
    return WorkloadSpec(
        instance_id=instance.id,
        customer_ref=instance.customer_ref,
        revision=revision or instance.revision,
        image=f"{instance.image}:{image_version or instance.image_version}",
        port=port,
        health_path=health,
        cpu_millis=instance.cpu_millis,
        memory_mb=instance.memory_mb,
        max_processes=instance.max_processes,
        environment=environment,
        volumes=volumes,
        hostname=f"{instance.id}.{settings.base_domain}",
        plan=f"{instance.plan_id}@{instance.plan_version}",
        host_port=instance.address_port,
    )
