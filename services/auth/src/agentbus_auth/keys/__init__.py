"""Ed25519 signing keys: encrypted at rest, rotated next → active → retired, published as a JWKS."""
