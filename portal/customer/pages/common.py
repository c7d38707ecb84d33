"""What every customer page needs: whose account this is, and their objects only.

Another customer's subscription, entry or invoice reads exactly like one that does not
exist (404), so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import PermissionDeniedException

from billing import Subscription, Subscriptions, UnknownSubscription
from portal.web.guards import viewer_of
from portal.web.services import Services
from provisioner import EngineUnavailable, Provisioner


def customer_id_of(request: Request[Any, Any, Any]) -> str:
    customer_id = viewer_of(request).customer_id
    if customer_id is None:
        raise PermissionDeniedException("this account has no customer record")
    return customer_id


async def owned_subscription(
    services: Services, request: Request[Any, Any, Any], subscription_id: str
) -> Subscription:
    subscription = await Subscriptions(services.billing).get(subscription_id)
    if subscription.customer_id != customer_id_of(request):
        raise UnknownSubscription(subscription_id)
    return subscription


async def fleet_or_none(services: Services) -> Provisioner | None:
    """The provisioner, or None while the engine is down (pages say so and go on)."""
    try:
        return await services.provisioner()
    except EngineUnavailable:
        return None
