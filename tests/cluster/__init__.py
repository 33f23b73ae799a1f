"""The clustered suite: one module on one `agentbus dev --cluster` (conftest.py)."""
