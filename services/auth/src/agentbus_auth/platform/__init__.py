"""Operators run the platform: the tenant lifecycle (list, get, create, suspend, reactivate)."""
