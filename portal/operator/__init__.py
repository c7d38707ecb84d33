"""What operators do and read: customers, support time, suspensions, the fleet, rollouts,
the outbox and the catalog; through pages (/ops) and the JSON API (/api/v1).

actions.py        what operators do, one function per action (pages and API share them)
page_data.py      what operators read: the overview, a customer's file, the catalog
rollouts.py       fleet rollouts run in the background, and their tracker
rollout_state.py  the app's tracker, stopped cleanly when the app stops
pages/            /ops routes
api/              /api/v1: auth (bearer tokens), schemas, routes
"""
