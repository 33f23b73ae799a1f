"""Single sign-on with OpenID Connect: providers, logins in flight, identities linked to accounts."""
