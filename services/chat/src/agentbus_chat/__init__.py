"""Agentbus chat."""
