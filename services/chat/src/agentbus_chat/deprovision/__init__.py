"""Chat's part of deprovisioning a tenant: its conversations, messages, runs and usage go."""
