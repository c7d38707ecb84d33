"""What Dockyard's own records say Stripe should invoice (no Stripe I/O).

invoices.py      a period's expected lines per customer: the entry point
subscription.py  one subscription as Stripe bills it, cut where it ended
cycles.py        Stripe's billing periods and proration arithmetic
history.py       a subscription's plans over time, from the outbox
fees.py          fee and proration lines
items.py         one-off lines: invoice items and packages
usage.py         metered support: usage lines and what the outbox did with them
"""
