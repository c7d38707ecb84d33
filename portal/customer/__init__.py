"""What customers do and see: the catalog, ordering, their dashboard, instances, support
hours, plan changes and cancelling.

catalog.py         the public catalog and a plan's page, in the customer's words
ordering.py        subscribe (with Stripe: each subscription through its own Checkout)
order_terms.py     what an order agrees to: every line, totals, commitment, leaving early
terms.py           a subscription's terms in words (plan change and cancel previews)
dashboard.py       the dashboard: subscriptions with price, period and next charge
instance.py        one instance's page: address, status, recent output, usage
instance_words.py  an instance's history and status in the customer's words
hours.py           support hours: the month so far, and the chart
pages/             the routes: thin handlers rendering what the modules above gather

Modules here span billing and the provisioner, which never import each other.
"""
