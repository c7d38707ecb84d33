"""The shared web plumbing every audience's routes use.

security.py      sessions, CSRF, security headers on every response, rate limits
errors.py        every error answered as a page or JSON, never a traceback
forms.py         reading forms strictly (whole numbers, UTF-8, no NUL)
guards.py, viewer.py  who is asking and what their role may open
rendering.py, templating.py  pages, flashes, the template filters
services.py      what a handler may use (built once per app)
health.py, readiness.py, metrics.py, state_metrics.py  /healthz, /readyz, /metrics
webhook.py       Stripe's webhook endpoint (verify, store once)
"""
