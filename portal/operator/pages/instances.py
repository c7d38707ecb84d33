"""One instance as operators see it: its full history in their words, its recent output,
and the hands-on actions (restart, update this one instance) next to them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.web.forms import read_form
from portal.web.guards import viewer_of
from portal.web.rendering import flash, page, see_other
from portal.web.services import ServicesDep
from provisioner import InstanceState, ProvisioningError

LOG_LINES = 100
_VERSION_LIMIT = 128


@get("/ops/instances/{instance_id:str}")
async def instance_page(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Template:
    provisioner = await services.provisioner()
    view = await provisioner.view(instance_id)
    logs: str | None = None
    logs_problem: str | None = None
    if view.instance.state == InstanceState.RUNNING.value:
        try:
            logs = await provisioner.logs(instance_id, LOG_LINES)
        except ProvisioningError as error:
            logs_problem = str(error)
    domains = await provisioner.domains.of(instance_id) if provisioner.serves_domains else []
    backups = await provisioner.backups.list(instance_id)
    return page(
        request,
        "operator/instance.html",
        view=view,
        direct=provisioner.direct_address(view.instance),
        domains=domains,
        logs=logs,
        logs_problem=logs_problem,
        backups=backups,
    )


@post("/ops/instances/{instance_id:str}/restart")
async def restart_instance(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Redirect:
    provisioner = await services.provisioner()
    try:
        await provisioner.restart(instance_id, actor=viewer_of(request).email)
    except ProvisioningError as refused:
        flash(request, str(refused), "error")
    else:
        flash(request, f"Instance {instance_id} restarted.")
    return see_other(f"/ops/instances/{instance_id}")


@post("/ops/instances/{instance_id:str}/update")
async def update_instance(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Redirect:
    """Roll this one instance (health-gated) to a version, or its plan's when empty."""
    form = await read_form(request)
    version = form.text("version", limit=_VERSION_LIMIT) or None
    provisioner = await services.provisioner()
    try:
        outcome = await provisioner.update(instance_id, version, actor=viewer_of(request).email)
    except ProvisioningError as refused:
        flash(request, str(refused), "error")
    else:
        failed = outcome.status is not None and outcome.status.value == "failed"
        flash(request, outcome.detail, "error" if failed else "ok")
    return see_other(f"/ops/instances/{instance_id}")
