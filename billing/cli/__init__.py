"""Billing from a terminal: the click groups ``dockyard`` mounts (portal/cli.py).

customers.py    ``dockyard customers`` and ``dockyard subscriptions``
support.py      ``dockyard support``: log time, approvals, a month's summary
outbox.py       ``dockyard outbox``: what waits for Stripe; retry dead rows
reconcile.py    ``dockyard reconcile``: the ledger beside Stripe's invoices
stripe_sync.py  ``dockyard plans sync``: the catalog's Products, Prices and Meter in Stripe
runner.py       one async use case per command, billing's errors as one line
"""
