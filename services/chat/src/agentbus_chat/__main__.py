"""``python -m agentbus_chat``: run the chat service."""

from agentbus_chat.app import build

if __name__ == "__main__":
    build().run()
