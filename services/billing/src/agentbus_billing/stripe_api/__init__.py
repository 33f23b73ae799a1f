"""Stripe over its official client: one place for retries, idempotency keys, logs and metrics."""
