"""Agents as data, their tools with per-agent scoping, and the input guardrail."""
