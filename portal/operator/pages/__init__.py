"""Operator routes under /ops (templates in portal/templates/operator).

overview.py   the overview: counts, problems, failed instances
customers.py  find a customer, their file, log support time, suspend and resume
instances.py  one instance: history, output, restart, update
rollouts.py   roll a plan's instances to a version, and watch it
outbox.py     what waits for Stripe; retry a dead message
catalog.py    the catalog as served, and reloading it
"""
