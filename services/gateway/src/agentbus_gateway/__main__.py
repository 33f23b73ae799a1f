"""``python -m agentbus_gateway``: run the gateway."""

from agentbus_gateway.app import run

if __name__ == "__main__":
    run()
