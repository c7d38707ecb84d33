"""One GET of reconciliation's reads: the SDK sends it, the body is decoded once into plain
dicts, and Stripe's errors are the SDK's, as with ``raw_request_async``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
import stripe

from billing.reconcile.stripe.retry import get_json
from billing.stripe.client import make_client
from tests.fixtures.stripe_double.fake import stripe_settings


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mocked:
        yield mocked


@pytest.fixture
def client() -> stripe.StripeClient:
    return make_client(stripe_settings())


async def test_a_page_is_plain_json_with_the_parameters_encoded_by_the_sdk(
    router: respx.MockRouter, client: stripe.StripeClient
) -> None:
    route = router.get(path="/v1/invoices").mock(
        return_value=httpx.Response(200, json={"object": "list", "data": [{"id": "in_1"}]})
    )

    page = await get_json(client, "/v1/invoices", {"limit": 100, "created": {"gte": 5}})

    assert page == {"object": "list", "data": [{"id": "in_1"}]}
    assert type(page) is dict  # not the SDK's OrderedDicts
    assert type(page["data"][0]) is dict
    request = route.calls.last.request
    assert request.url.params["limit"] == "100"
    assert request.url.params["created[gte]"] == "5"
    assert request.headers["authorization"].startswith("Bearer ")
    assert "stripe-version" in request.headers


async def test_an_error_response_is_the_sdks_error(
    router: respx.MockRouter, client: stripe.StripeClient
) -> None:
    router.get(path="/v1/invoices/in_gone").mock(
        return_value=httpx.Response(
            404, json={"error": {"type": "invalid_request_error", "message": "No such invoice"}}
        )
    )

    with pytest.raises(stripe.InvalidRequestError, match="No such invoice"):
        await get_json(client, "/v1/invoices/in_gone", {})


async def test_a_body_that_is_not_json_is_an_api_error(
    router: respx.MockRouter, client: stripe.StripeClient
) -> None:
    router.get(path="/v1/invoices").mock(return_value=httpx.Response(200, text="<html>"))

    with pytest.raises(stripe.APIError, match="Invalid response body"):
        await get_json(client, "/v1/invoices", {})
