"""Billing's side of Stripe: everything that speaks Stripe's language.

client.py               the one place a client is built and Stripe's errors are judged
catalog.py              the plan catalog mirrored into Products, Prices and the Meter
checkout.py             sign-up through Stripe Checkout
webhooks.py             verify → store by id → handle in the worker → mark handled
subscription_events.py  what each subscription event does to the ledger

What Dockyard sends to Stripe goes through the outbox (billing/outbox/), never from here
inside a web request.
"""
