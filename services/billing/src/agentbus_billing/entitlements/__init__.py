"""Entitlements: what each tenant may use now, published to the ENTITLEMENTS KV bucket."""
