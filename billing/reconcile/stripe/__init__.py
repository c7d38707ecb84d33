"""What Stripe did invoice, read as JSON (paged, retried, resumable).

reader.py      the invoices created in a window, streamed page by page
retry.py       GETs with backoff and paging
checkpoint.py  how far a read got, so the next continues there
lines.py       Stripe's invoices and lines in the reconciliation's vocabulary (no I/O)
ids.py         ``cus_...``/``sub_...`` turned into Dockyard's ids
meter.py       what the support-minutes meter counted per customer
"""
