"""Reconciliation: Dockyard's ledger beside Stripe's invoices, every difference explained.

run.py        the entry point: read both sides for a month, match, report
expected/     what the ledger says each customer should be invoiced for a period
stripe/       what Stripe did invoice, read page by page (bounded memory, resumable)
lines.py      the shapes both sides are turned into, and the keys they match on
matching.py   expected against actual → findings and totals
result.py     what a reconciliation yields: comparisons, findings, totals
findings.py   the kinds of difference, each with a suggested action
report.py     the result, as text, CSV and JSON
spool.py      the invoices read so far, on disk, so a stopped run resumes
"""
