"""The pages the proxy itself answers with when an instance is not serving.

They are static responses inside the proxy's configuration, so they show even while
the portal is down; each says why, and what the customer can do about it.
"""

from __future__ import annotations

from html import escape

from provisioner.models import SuspensionReason

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}a{color:#0b57d0}"
)


def _page(title: str, *paragraphs: str) -> str:
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def suspended_page(instance_id: str, reason: str | None, portal_url: str) -> str:
    """A suspended instance: why, and the way back (pay, or talk to support)."""
    dashboard = f'<a href="{escape(portal_url)}/dashboard">your Dockyard dashboard</a>'
    if reason == SuspensionReason.BILLING.value:
        why = "This site is suspended because a payment for it is overdue."
        what = (
            f"If it is yours, pay the open invoice on {dashboard}; "
            "the site comes back within a minute of the payment."
        )
    else:
        why = "This site has been suspended by its hosting provider."
        what = f"If it is yours, see {dashboard} or contact support to have it resumed."
    return _page(
        "This site is suspended", why, what, f"Instance <code>{escape(instance_id)}</code>."
    )


def starting_page(instance_id: str) -> str:
    """Running is wanted but nothing serves yet: being created, restarted or repaired."""
    return _page(
        "This site is starting",
        "It is being started or repaired and will answer here shortly. Try again in a minute.",
        f"Instance <code>{escape(instance_id)}</code>.",
    )


def unknown_page() -> str:
    return _page("No site here", "Nothing is hosted at this address.")
