"""Tenants, memberships with their roles, invites, and each tenant's plan."""
