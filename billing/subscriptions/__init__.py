"""Subscriptions: from the order to the last invoice.

lifecycle.py       the use cases: subscribe, change plan, suspend, and the ones below
changes.py         the steps they share: switch plan, end, queue the update for Stripe
leaving.py         cancel, and withdraw a cancellation before it takes effect
period_roll.py     time passing: trials end, periods advance, downgrades apply
cancellation.py    what leaving costs and when it ends (pure)
final_invoice.py   the invoice Dockyard makes for charges after the last period
dunning.py         what happens when invoices are not paid
service_period.py  what a customer is served and charged now, as Stripe bills it
"""
