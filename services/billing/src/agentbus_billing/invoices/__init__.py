"""Invoices: Stripe's invoices as the tenant sees them, kept current by webhooks."""
