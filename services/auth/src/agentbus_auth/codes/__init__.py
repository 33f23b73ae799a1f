"""One-time codes (email verification, password reset): stored as MACs, single-use, attempt-limited."""
