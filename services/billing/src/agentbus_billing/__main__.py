"""``python -m agentbus_billing``: run the billing service."""

from agentbus_billing.app import build

if __name__ == "__main__":
    build().run()
