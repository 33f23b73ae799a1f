"""Billing's part of deprovisioning a tenant: its Stripe subscription ends and its data goes."""
