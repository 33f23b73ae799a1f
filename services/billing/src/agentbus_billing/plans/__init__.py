"""The plan catalog: plans as data, their limits, and their Stripe prices."""
