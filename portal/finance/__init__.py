"""What finance sees: the month's reconciliation of Stripe's invoices against the ledger.

pages.py  /finance: the reconciliation, its findings and downloads
chart.py  expected against invoiced per customer, drawn on the server
"""
