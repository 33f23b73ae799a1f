"""The clustered suite: its modules share one `agentbus dev --cluster` (conftest.py)."""
