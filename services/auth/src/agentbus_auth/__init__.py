"""Agentbus auth."""
