"""Rolling an application-hosting plan's instances to another version, and watching it.

The form starts the rollout in the background and goes to its progress page, which
htmx refreshes every few seconds (a meta refresh does it without JavaScript) until the
last instance is done.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_409_CONFLICT,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from portal.errors import InvalidRollout, RolloutRefused
from portal.operator.actions import RolloutRequest, start_rollout
from portal.operator.page_data import catalog_view
from portal.operator.rollout_state import RolloutsDep
from portal.operator.rollouts import MAX_PARALLEL
from portal.web.forms import read_form
from portal.web.guards import viewer_of
from portal.web.rendering import page, see_other
from portal.web.services import Services, ServicesDep
from provisioner import EngineUnavailable

POLL_SECONDS = 3


def _form_page(
    request: Request[Any, Any, Any],
    services: Services,
    rollouts: RolloutsDep,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    return page(
        request,
        "operator/rollouts.html",
        status_code=status_code,
        plans=catalog_view(services.catalog_holder).application_plans,
        runs=rollouts.recent(),
        form=form or {"parallel": "1"},
        errors=errors or {},
        max_parallel=MAX_PARALLEL,
    )


@get("/ops/rollouts")
async def rollouts_page(
    request: Request[Any, Any, Any], services: ServicesDep, rollouts: RolloutsDep
) -> Template:
    return _form_page(request, services, rollouts)


@post("/ops/rollouts")
async def start_rollout_now(
    request: Request[Any, Any, Any], services: ServicesDep, rollouts: RolloutsDep
) -> Template | Redirect:
    form = await read_form(request)
    plan_id = form.text("plan_id", limit=64)
    version = form.text("version", limit=128)
    parallel = form.whole("parallel", minimum=1) or 1
    if parallel > MAX_PARALLEL:
        form.errors["parallel"] = f"at most {MAX_PARALLEL} at a time"
    ignore_window = form.values.get("ignore_window") == "on"
    if form.ok:
        try:
            run = await start_rollout(
                rollouts,
                services.provisioner,
                services.catalog(),
                services.billing.clock,
                RolloutRequest(plan_id, version, ignore_window, parallel),
                viewer_of(request).email,
            )
        except InvalidRollout as invalid:
            form.errors.update(invalid.problems)
        except (RolloutRefused, EngineUnavailable) as refused:
            form.errors["rollout"] = str(refused)
            return _form_page(
                request,
                services,
                rollouts,
                status_code=HTTP_503_SERVICE_UNAVAILABLE
                if isinstance(refused, EngineUnavailable)
                else HTTP_409_CONFLICT,
                form=form.values,
                errors=form.errors,
            )
        else:
            return see_other(f"/ops/rollouts/{run.id}")
    return _form_page(
        request,
        services,
        rollouts,
        status_code=HTTP_400_BAD_REQUEST,
        form=form.values,
        errors=form.errors,
    )


@get("/ops/rollouts/{rollout_id:str}")
async def rollout_page(
    request: Request[Any, Any, Any], rollouts: RolloutsDep, rollout_id: FromPath[str]
) -> Template:
    run = rollouts.get(rollout_id)
    return page(request, "operator/rollout.html", run=run, poll=POLL_SECONDS)


@get("/ops/rollouts/{rollout_id:str}/progress")
async def rollout_progress(
    request: Request[Any, Any, Any], rollouts: RolloutsDep, rollout_id: FromPath[str]
) -> Template:
    """The progress panel alone, for htmx to swap in while the rollout runs."""
    # Not through page(): a poll must not take the flash messages meant for a full page.
    run = rollouts.get(rollout_id)
    return Template("operator/_rollout_progress.html", context={"run": run, "poll": POLL_SECONDS})
