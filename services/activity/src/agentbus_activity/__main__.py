"""``python -m agentbus_activity``: run the activity service."""

from agentbus_activity.app import build

if __name__ == "__main__":
    build().run()
