"""Feature flags: each tenant's plan features with operators' overrides, published in its entitlements."""
