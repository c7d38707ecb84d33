"""The customer's SSH keys page: the keys they log in to their servers with."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal.customer.pages.common import customer_id_of
from portal.ssh.keyring import NAME_LIMIT, KeyRing
from portal.ssh.keys import MAX_KEY_TEXT, InvalidKey
from portal.web.forms import read_form
from portal.web.guards import customers_only
from portal.web.rendering import flash, page, see_other
from portal.web.services import Services, ServicesDep, provide_services

KEYS_PAGE = "/ssh-keys"


def keyring(services: Services) -> KeyRing:
    return KeyRing(services.sessions, services.runtime.clock)


async def _keys_page(
    request: Request[Any, Any, Any],
    services: Services,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    keys = await keyring(services).keys(customer_id_of(request))
    ssh = services.runtime.settings.ssh
    return page(
        request,
        "customer/ssh_keys.html",
        status_code=HTTP_400_BAD_REQUEST if errors else 200,
        keys=keys,
        ssh=ssh,
        form=form or {},
        errors=errors or {},
    )


@get(KEYS_PAGE)
async def keys_page(request: Request[Any, Any, Any], services: ServicesDep) -> Template:
    return await _keys_page(request, services)


@post(KEYS_PAGE)
async def add_key(request: Request[Any, Any, Any], services: ServicesDep) -> Template | Redirect:
    form = await read_form(request)
    text = form.text("public_key", required="paste a public key", limit=MAX_KEY_TEXT)
    name = form.text("name", limit=NAME_LIMIT)
    if form.ok:
        try:
            key = await keyring(services).add(customer_id_of(request), text, name)
        except InvalidKey as invalid:
            form.errors["public_key"] = str(invalid)
        else:
            flash(request, f"Key {key.name} added ({key.fingerprint}).")
            return see_other(KEYS_PAGE)
    return await _keys_page(request, services, form=form.values, errors=form.errors)


@post(KEYS_PAGE + "/{key_id:str}/remove")
async def remove_key(
    request: Request[Any, Any, Any], services: ServicesDep, key_id: FromPath[str]
) -> Redirect:
    """Another customer's key reads like one that does not exist: 404."""
    if not await keyring(services).remove(customer_id_of(request), key_id):
        raise NotFoundException("no such key")
    flash(request, "Key removed: it no longer logs in to your servers.")
    return see_other(KEYS_PAGE)


ssh_keys_router = Router(
    path="/",
    route_handlers=[keys_page, add_key, remove_key],
    dependencies={"services": Provide(provide_services)},
    guards=[customers_only],
    include_in_schema=False,
)
