"""Agentbus billing."""
