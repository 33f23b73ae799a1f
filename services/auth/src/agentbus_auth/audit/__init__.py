"""The audit trail: logins and security events with time, user and IP."""
