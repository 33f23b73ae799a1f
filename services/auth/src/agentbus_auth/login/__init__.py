"""Logging in: password check under lockout, MFA challenge, token issue."""
