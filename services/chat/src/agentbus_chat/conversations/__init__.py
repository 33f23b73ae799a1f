"""Conversations, their messages, search and agent memory."""
