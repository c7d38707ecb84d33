"""A customer's own domain names for an instance: add one, remove one.

The proxy gets a certificate for a name at its first visit, and only for names listed
here (``/proxy/ask``); the page shows the DNS record that sends the name to the instance.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal.customer.instance import instance_page
from portal.customer.pages.common import customer_id_of
from portal.web.forms import FORM_ERROR, read_form
from portal.web.guards import viewer_of
from portal.web.rendering import flash, page, see_other
from portal.web.services import ServicesDep
from provisioner import InvalidDomain


@post("/instances/{instance_id:str}/domains")
async def add_domain(
    request: Request[Any, Any, Any], services: ServicesDep, instance_id: FromPath[str]
) -> Template | Redirect:
    provisioner = await services.provisioner()
    customer = customer_id_of(request)
    form = await read_form(request)
    raw = form.text("domain", required="enter a domain name, such as shop.example.com", limit=253)
    if form.ok:
        try:
            domain = await provisioner.domains.attach(
                instance_id, raw, customer_ref=customer, actor=viewer_of(request).email
            )
        except InvalidDomain as refused:
            form.errors["domain"] = f"{raw} cannot be added: {refused.reason}"
        else:
            record = provisioner.domains.dns_record(instance_id, domain)
            flash(
                request,
                f"Added {domain}. Create the DNS record {record.name} {record.kind} "
                f"{record.value} at your DNS provider; HTTPS follows at the first visit.",
            )
            return see_other(f"/instances/{instance_id}#domains")
    shown = await instance_page(services.catalog(), provisioner, customer, instance_id)
    errors = {"domain": form.errors.get("domain") or form.errors.get(FORM_ERROR, "")}
    return page(
        request,
        "customer/instance.html",
        status_code=HTTP_400_BAD_REQUEST,
        shown=shown,
        ssh=services.runtime.settings.ssh,
        domain_value=raw,
        domain_errors=errors,
    )


@post("/instances/{instance_id:str}/domains/{domain:str}/remove")
async def remove_domain(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    instance_id: FromPath[str],
    domain: FromPath[str],
) -> Redirect:
    provisioner = await services.provisioner()
    removed = await provisioner.domains.detach(
        instance_id, domain, customer_ref=customer_id_of(request), actor=viewer_of(request).email
    )
    if removed:
        flash(request, f"Removed {domain}: it no longer reaches this instance.")
    else:
        flash(request, f"{domain} was not attached to this instance.", "warn")
    return see_other(f"/instances/{instance_id}#domains")
