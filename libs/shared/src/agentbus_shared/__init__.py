"""Agentbus shared."""
