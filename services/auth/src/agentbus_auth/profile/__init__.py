"""Self-service profiles: profile fields, email changes, disabling, consents, notification preferences."""
