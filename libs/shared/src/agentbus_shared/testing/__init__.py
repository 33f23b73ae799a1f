"""Test support shared by every package: server fixtures (pytest plugin) and helpers."""
