"""Who may sign in: customers, operators and finance; sessions and API tokens.

service.py        sign up, sign in, reset a password, tokens (the use cases)
pages.py          /signup, /signin, /signout, the password reset pages
session_pages.py  /account: one's sessions, signing every other browser out
session_store.py  server-side sessions in the database (revocable)
throttle.py       per-account sign-in limits
passwords.py      hashing and the password rules
models.py, repository.py, cli.py  the tables, their queries, ``dockyard operators``
"""
