"""``/api/v1``: the Stripe outbox, fleet rollouts and the catalog."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_409_CONFLICT

from billing import OutboxState, outbox_messages, retry_dead
from portal.errors import InvalidRollout
from portal.operator.actions import RolloutRequest, reload_catalog, start_rollout
from portal.operator.api.auth import api_writers
from portal.operator.api.schemas_operations import (
    CatalogOut,
    CatalogReloadOut,
    OutboxMessageOut,
    RolloutIn,
    RolloutOut,
)
from portal.operator.page_data import catalog_view
from portal.operator.rollout_state import RolloutsDep
from portal.web.guards import viewer_of
from portal.web.services import ServicesDep

_STATES = [state.value for state in OutboxState]


@get("/outbox", summary="Messages waiting for Stripe, oldest first")
async def list_outbox(
    services: ServicesDep,
    # "state" is a name litestar reserves for app state, so the parameter is read by
    # alias and checked here (a 400 that names "state", not the Python name).
    only: Annotated[
        str | None,
        QueryParameter(name="state", description="Only this state", schema_extra={"enum": _STATES}),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> list[OutboxMessageOut]:
    if only is not None and only not in _STATES:
        raise ClientException(f"state: {only!r} is not one of {', '.join(_STATES)}")
    state = OutboxState(only) if only else None
    messages = await outbox_messages(services.billing, state, limit)
    return [OutboxMessageOut.of(message) for message in messages]


@post(
    "/outbox/{message_id:int}/retry",
    guards=[api_writers],
    status_code=HTTP_200_OK,
    summary="Put a dead message back in the queue, due now",
    description="409 when the message is not dead.",
)
async def retry_outbox(services: ServicesDep, message_id: FromPath[int]) -> OutboxMessageOut:
    return OutboxMessageOut.of(await retry_dead(services.billing, message_id))


@post(
    "/rollouts",
    guards=[api_writers],
    status_code=HTTP_202_ACCEPTED,
    summary="Roll a plan's running instances to an application version",
    description=(
        "Starts in the background and answers at once; poll GET /rollouts/{id}. "
        "409 while another rollout of the plan runs."
    ),
)
async def start_rollout_api(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    rollouts: RolloutsDep,
    data: JSONBody[RolloutIn],
) -> RolloutOut:
    try:
        run = await start_rollout(
            rollouts,
            services.provisioner,
            services.catalog(),
            services.billing.clock,
            RolloutRequest(data.plan_id, data.version, data.ignore_window, data.parallel),
            viewer_of(request).email,
        )
    except InvalidRollout as invalid:
        if set(invalid.problems) == {"plan_id"}:  # a well-formed id naming no such plan
            raise NotFoundException(invalid.problems["plan_id"]) from None
        raise
    return RolloutOut.of(run)


@get("/rollouts", summary="Rollouts since the portal started, newest first")
async def list_rollouts(rollouts: RolloutsDep) -> list[RolloutOut]:
    return [RolloutOut.of(run) for run in rollouts.recent()]


@get("/rollouts/{rollout_id:str}", summary="A rollout's progress")
async def get_rollout(rollouts: RolloutsDep, rollout_id: FromPath[str]) -> RolloutOut:
    return RolloutOut.of(rollouts.get(rollout_id))


@get("/catalog", summary="The catalog as served, and the last reload's problems")
async def get_catalog(services: ServicesDep) -> CatalogOut:
    return CatalogOut.of(catalog_view(services.catalog_holder))


@post(
    "/catalog/reload",
    guards=[api_writers],
    status_code=HTTP_200_OK,
    summary="Read the catalog files again",
    description="409 with the problems when they do not load; the last good catalog serves on.",
    responses={
        HTTP_409_CONFLICT: ResponseSpec(
            data_container=CatalogReloadOut, description="The files have problems"
        )
    },
)
async def reload_catalog_api(services: ServicesDep) -> Response[CatalogReloadOut]:
    failure = await reload_catalog(services.catalog_holder)
    body = CatalogReloadOut(
        reloaded=failure is None, catalog=CatalogOut.of(catalog_view(services.catalog_holder))
    )
    return Response(body, status_code=HTTP_200_OK if failure is None else HTTP_409_CONFLICT)
