"""TOTP factors, recovery codes and login challenges."""
