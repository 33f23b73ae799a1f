"""Agentbus gateway."""
