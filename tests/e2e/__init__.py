"""The end-to-end suite: a package, so that its one running stack is package-scoped (conftest.py)."""
