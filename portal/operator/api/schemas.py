"""What ``/api/v1`` takes and gives about customers, subscriptions and support time:
msgspec structs, so the OpenAPI schema is exact and a malformed body is a 400 naming the
field. Times are ISO 8601 in UTC; support time is whole minutes. The outbox, rollouts
and the catalog are in api_schemas_operations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from billing import Customer, EntryCategory, Subscription, SupportEntry
from plans import Catalog
from portal.operator.actions import REASON_LIMIT, SuspensionChange
from portal.operator.page_data import plan_name
from provisioner import Instance

# Text without a NUL character (PostgreSQL's text cannot hold one): a documented pattern,
# so clients and fuzzers know it, and In.__post_init__ says which field.
NO_NUL = "^[^\\x00]*$"


class In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: unknown fields are refused, so a typo is not silently ignored."""

    def __post_init__(self) -> None:
        # PostgreSQL text cannot hold a NUL character: refused here (a 400 naming the
        # field), not by the database (a 500).
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"{name} contains a NUL character")


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


# -- customers and subscriptions --------------------------------------------------------


class CustomerOut(Out):
    id: str
    email: str
    name: str
    company: str
    currency: str
    stripe_customer_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            email=customer.email,
            name=customer.name,
            company=customer.company,
            currency=customer.currency,
            stripe_customer_id=customer.stripe_customer_id,
            created_at=customer.created_at,
        )


class SubscriptionOut(Out):
    id: str
    customer_id: str
    plan_id: str
    plan_version: int
    plan_name: str
    state: str
    suspension_reason: str | None  # "manual" (an operator) or "billing" (unpaid)
    started_at: datetime
    trial_ends_at: datetime | None
    period_start: datetime
    period_end: datetime
    cancel_at: datetime | None
    ended_at: datetime | None
    instance_id: str | None

    @classmethod
    def of(cls, subscription: Subscription, catalog: Catalog | None) -> SubscriptionOut:
        return cls(
            id=subscription.id,
            customer_id=subscription.customer_id,
            plan_id=subscription.plan_id,
            plan_version=subscription.plan_version,
            plan_name=plan_name(catalog, subscription.plan_id, subscription.plan_version),
            state=subscription.state,
            suspension_reason=subscription.suspension_reason,
            started_at=subscription.started_at,
            trial_ends_at=subscription.trial_ends_at,
            period_start=subscription.period_start,
            period_end=subscription.period_end,
            cancel_at=subscription.cancel_at,
            ended_at=subscription.ended_at,
            instance_id=subscription.instance_ref,
        )


class InstanceOut(Out):
    id: str
    customer_id: str
    plan_id: str
    plan_version: int
    image: str
    image_version: str
    state: str
    desired_state: str
    suspension_reason: str | None
    reason: str | None  # why it failed or is suspended
    health: str
    update_status: str | None
    update_detail: str | None

    @classmethod
    def of(cls, instance: Instance) -> InstanceOut:
        return cls(
            id=instance.id,
            customer_id=instance.customer_ref,
            plan_id=instance.plan_id,
            plan_version=instance.plan_version,
            image=instance.image,
            image_version=instance.image_version,
            state=instance.state,
            desired_state=instance.desired_state,
            suspension_reason=instance.suspension_reason,
            reason=instance.reason,
            health=instance.health,
            update_status=instance.update_status,
            update_detail=instance.update_detail,
        )


class CustomerDetailOut(Out):
    customer: CustomerOut
    subscriptions: list[SubscriptionOut]
    instances: list[InstanceOut]


class SuspendIn(In):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=REASON_LIMIT, pattern=NO_NUL)]


class SuspensionOut(Out):
    subscription: SubscriptionOut
    instance: InstanceOut | None
    instance_problem: str | None  # the instance could not be changed now, and what follows

    @classmethod
    def of(cls, change: SuspensionChange, catalog: Catalog | None) -> SuspensionOut:
        return cls(
            subscription=SubscriptionOut.of(change.subscription, catalog),
            instance=InstanceOut.of(change.instance) if change.instance else None,
            instance_problem=change.instance_problem,
        )


# -- support time ---------------------------------------------------------------------


class SupportEntryIn(In):
    minutes: Annotated[int, msgspec.Meta(ge=1, le=24 * 60)]
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
    category: EntryCategory = EntryCategory.SUPPORT
    worked_at: datetime | None = None  # default: now; with a timezone, not in the future
    extra_work: bool = False  # flat-rate plans: agreed extra work, billed on top


class SupportEntryOut(Out):
    id: str
    customer_id: str
    subscription_id: str | None
    worked_at: datetime
    period: str
    minutes: int
    billable_minutes: int | None
    category: str
    extra_work: bool
    state: str  # "pending_approval": over the customer's cap, waits for them
    staff: str
    note: str
    message: str

    @classmethod
    def of(cls, entry: SupportEntry, message: str) -> SupportEntryOut:
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            subscription_id=entry.subscription_id,
            worked_at=entry.worked_at,
            period=entry.period,
            minutes=entry.minutes,
            billable_minutes=entry.billable_minutes,
            category=entry.category,
            extra_work=entry.extra_work,
            state=entry.state,
            staff=entry.staff,
            note=entry.note,
            message=message,
        )


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """A ``before_request`` hook for the API: a JSON body is decoded again, strictly.

    litestar converts request bodies leniently (``"minutes": "5"`` becomes 5, ``0`` a
    false flag); the API documents types, and a client sending a string for a number has
    a bug it should hear about. So a handler's ``data`` (an ``In`` struct) is checked
    against the raw bytes with msgspec's strict decoding, and refused with a 400 naming
    the field."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None or not isinstance(field.annotation, type):
        return
    if not issubclass(field.annotation, In):
        return
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return  # not JSON: litestar's own decoding answers that
    if isinstance(body, dict):
        # JSON Schema's integer includes 5.0 (a number without a fraction): so do we.
        body = {
            k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in body.items()
        }
    try:
        msgspec.convert(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(f"the request body was malformed: {error}") from None
