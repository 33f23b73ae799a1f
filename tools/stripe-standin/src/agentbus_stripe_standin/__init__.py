"""A Stripe stand-in for development and tests: localstripe plus Prices, Meters, Checkout and the portal.

``python -m agentbus_stripe_standin --port N`` (the dev stack starts it when
``STRIPE_API_KEY`` is not set). A development dependency of the workspace: no image installs it.
"""
