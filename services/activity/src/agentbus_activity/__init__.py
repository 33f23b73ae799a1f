"""Agentbus activity."""
