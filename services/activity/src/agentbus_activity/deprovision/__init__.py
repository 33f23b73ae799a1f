"""Activity's part of deprovisioning a tenant: its feed, read state and people go."""
