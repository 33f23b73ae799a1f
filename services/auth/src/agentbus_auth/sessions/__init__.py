"""Sessions, refresh-token families and access tokens."""
