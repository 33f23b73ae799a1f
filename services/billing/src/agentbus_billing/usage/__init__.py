"""Usage: metering chat runs per tenant and period, reporting them to Stripe Billing Meters."""
