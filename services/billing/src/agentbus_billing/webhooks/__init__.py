"""Stripe webhooks: the durable consumer of STRIPE_WEBHOOKS, the event store, replay."""
