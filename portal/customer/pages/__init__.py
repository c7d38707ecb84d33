"""Customer routes (templates in portal/templates/customer and public).

public.py         / (what is on sale) and /plans/<plan>, for anyone
order.py          /order/<plan>: terms, acceptance, Checkout
dashboard.py      /dashboard and /instances/<id>
domains.py        /instances/<id>/domains: the customer's own names for an instance
subscriptions.py  changing a plan and cancelling, each previewed before confirming
support.py        entries over the cap (approve, reject) and invoices
common.py         whose account this is, and their objects only
"""
