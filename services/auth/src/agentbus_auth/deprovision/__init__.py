"""Deprovisioning a tenant: the saga auth runs over the bus, and auth's own part of the deletion."""
