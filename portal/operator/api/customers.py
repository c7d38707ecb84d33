"""``/api/v1``: customers, suspending and resuming subscriptions, logging support time."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_409_CONFLICT

from billing import ExtraWorkNotOffered, NoSupportSubscription, Subscriptions
from portal.operator.actions import (
    SupportTime,
    log_support_time,
    resume_subscription,
    support_outcome,
    suspend_subscription,
)
from portal.operator.api.auth import api_writers
from portal.operator.api.schemas import (
    CustomerDetailOut,
    CustomerOut,
    InstanceOut,
    SubscriptionOut,
    SupportEntryIn,
    SupportEntryOut,
    SuspendIn,
    SuspensionOut,
)
from portal.operator.page_data import customer_file, find_customers, serving_catalog
from portal.web.guards import viewer_of
from portal.web.services import ServicesDep


@get("/customers", summary="Find customers by email, name or company")
async def list_customers(services: ServicesDep, q: FromQuery[str] = "") -> list[CustomerOut]:
    return [CustomerOut.of(customer) for customer in await find_customers(services.billing, q)]


@get("/customers/{customer_id:str}", summary="A customer with their subscriptions and instances")
async def get_customer(services: ServicesDep, customer_id: FromPath[str]) -> CustomerDetailOut:
    catalog = serving_catalog(services.catalog_holder)
    file = await customer_file(services.billing, catalog, customer_id)
    return CustomerDetailOut(
        customer=CustomerOut.of(file.customer),
        subscriptions=[
            SubscriptionOut.of(line.subscription, catalog) for line in file.subscriptions
        ],
        instances=[InstanceOut.of(instance) for instance in file.instances],
    )


@get("/subscriptions/{subscription_id:str}", summary="One subscription")
async def get_subscription(
    services: ServicesDep, subscription_id: FromPath[str]
) -> SubscriptionOut:
    subscription = await Subscriptions(services.billing).get(subscription_id)
    return SubscriptionOut.of(subscription, serving_catalog(services.catalog_holder))


@post(
    "/subscriptions/{subscription_id:str}/suspend",
    guards=[api_writers],
    status_code=200,
    summary="Suspend a subscription and its instance by hand, with a reason",
    description="Only resuming lifts it: payments and the worker never do.",
)
async def suspend_subscription_api(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    subscription_id: FromPath[str],
    data: JSONBody[SuspendIn],
) -> SuspensionOut:
    change = await suspend_subscription(
        services.billing,
        services.provisioner,
        subscription_id,
        data.reason,
        viewer_of(request).email,
    )
    return SuspensionOut.of(change, serving_catalog(services.catalog_holder))


@post(
    "/subscriptions/{subscription_id:str}/resume",
    guards=[api_writers],
    status_code=200,
    summary="Lift an operator's suspension from a subscription and its instance",
)
async def resume_subscription_api(
    request: Request[Any, Any, Any], services: ServicesDep, subscription_id: FromPath[str]
) -> SuspensionOut:
    change = await resume_subscription(
        services.billing, services.provisioner, subscription_id, viewer_of(request).email
    )
    return SuspensionOut.of(change, serving_catalog(services.catalog_holder))


@post(
    "/customers/{customer_id:str}/support-entries",
    guards=[api_writers],
    summary="Log support time for a customer",
    description=(
        "An entry that takes a per-hour customer past their monthly cap is recorded as "
        "pending_approval and bills nothing until the customer approves it."
    ),
)
async def log_support_api(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    customer_id: FromPath[str],
    data: JSONBody[SupportEntryIn],
) -> SupportEntryOut:
    time = SupportTime(
        data.minutes, data.note, data.category.value, data.worked_at, data.extra_work
    )
    try:
        entry = await log_support_time(services.billing, customer_id, time, viewer_of(request).name)
    except (NoSupportSubscription, ExtraWorkNotOffered) as refused:
        # Well-formed, but the customer's plan refuses it (NoSupportSubscription is a
        # LookupError to billing, yet the customer exists): a conflict, not a 404 or 400.
        raise HTTPException(status_code=HTTP_409_CONFLICT, detail=str(refused)) from None
    return SupportEntryOut.of(entry, support_outcome(entry)[0])
