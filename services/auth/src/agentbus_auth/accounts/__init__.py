"""User accounts: registration, profile, email verification, passwords, approval."""
