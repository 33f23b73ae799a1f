"""Subscriptions: the tenant's plan and its Stripe subscription, customers and prices."""
