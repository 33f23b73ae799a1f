"""Root of every test run: the shared server fixtures (NATS, PostgreSQL, Redis)."""

pytest_plugins = ["agentbus_shared.testing.plugin"]
