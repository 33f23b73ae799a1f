"""``python -m agentbus_auth``: run the auth service."""

from agentbus_auth.app import build

if __name__ == "__main__":
    build().run()
