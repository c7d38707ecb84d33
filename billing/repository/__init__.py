"""billing's queries, one repository per table (or per table family) it reads and writes.

- customers.py: ``CustomerRepository``, customers (lookups, locks, currencies).
- subscriptions.py: ``SubscriptionRepository``, every query whose answer is subscriptions.
- invoices.py: ``InvoiceRepository``, invoices filed from Stripe's webhooks.
- ledger.py: ``LedgerRepository``, support entries and closed periods.
- outbox.py: ``OutboxRepository``, the Stripe outbox (claiming, outcomes, admin).
- reconcile.py: ``ReconcileRepository``, the expected side's reads, bounded by a period.
- stripe_links.py: Stripe's ids to ours, for reading Stripe's invoices.
- webhooks.py: ``WebhookRepository``, stored Stripe webhook events.

Nothing outside billing imports these; portal asks billing's services (``billing.__all__``).
"""
