"""Support time: the minutes staff log, what the customer's plan makes of them, and the
months that close.

ledger.py           log, correct, approve and summarise entries (the use cases)
charges.py          what one entry costs and how it reaches Stripe (meter, item, trial)
allowance.py        the allowance arithmetic: included, rollover, expiry, caps (pure)
terms.py            the terms a subscription held in a period
closing.py          closing a month once Stripe invoiced it: its summary kept for good
usage_invoicing.py  a month's minutes of a plan without a metered price, as an item
"""
