"""The portal as ``dockyard serve`` builds it, plus one fixed page: the benchmark's baseline.

Run by uvicorn in its own process (``--factory``), configured through ``DOCKYARD_*``
variables like the real thing; the fixed page skips sign-in lookups and templates, so the
difference to the dashboard is what the dashboard itself costs.
"""

from __future__ import annotations

import os

from litestar import Litestar, MediaType, get

from portal.app import create_app
from portal.runtime import Runtime
from portal.settings import Settings

FIXED_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Fixed</title></head>"
    "<body><main>"
    + "<p>A fixed page of about the size of a dashboard.</p>" * 200
    + "</main></body></html>"
)


@get(
    "/bench/fixed", media_type=MediaType.HTML, opt={"exclude_from_auth": True}, sync_to_thread=False
)
def fixed_page() -> str:
    return FIXED_PAGE


def create() -> Litestar:
    app = create_app(Runtime(Settings.from_env(os.environ), role="bench"))
    app.register(fixed_page)
    return app
