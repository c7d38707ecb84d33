"""The operator JSON API under /api/v1, for scripts and other tools.

routes.py              the router: every handler, its guards and documented errors
auth.py                bearer tokens (``dockyard operators token``), roles
customers.py           customers, suspending and resuming, logging support time
operations.py          the outbox, fleet rollouts, the catalog
schemas.py             what customers' endpoints take and give (closed bodies)
schemas_operations.py  the same for the operations endpoints
"""
