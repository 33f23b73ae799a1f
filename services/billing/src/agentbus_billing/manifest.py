"""How the operator CLI and the dev stack see the billing service (data only, no imports)."""

from agentbus_shared.manifest import DEV_SECRET, Companion, ServiceManifest

MANIFEST = ServiceManifest(
    name="billing",
    module="agentbus_billing",
    default_port=8102,
    schema="billing",
    migrations="agentbus_billing.migrations",
    cli="agentbus_billing.cli:app",
    needs_redis=True,
    env={"STRIPE_WEBHOOK_SECRETS": DEV_SECRET},
    companions=(
        Companion(
            name="stripe-standin",
            module="agentbus_stripe_standin",
            default_port=12111,
            unless_env="STRIPE_API_KEY",
            env={
                "STRIPE_STANDIN_WEBHOOK_URL": "{gateway_url}/webhooks/stripe",
                # customers and subscriptions survive a restart, like the billing database
                "STRIPE_STANDIN_DATA_FILE": "{var_dir}/stripe-standin.pickle",
            },
            provides={
                "STRIPE_API_KEY": "sk_test_agentbus_standin",
                "BILLING_STRIPE_API_BASE": "{url}",
                "BILLING_STRIPE_SETUP_ON_START": "true",
                "BILLING_APP_URL": "{gateway_url}",
            },
            health_path="/_standin/health",
            stands_in_for="Stripe",
        ),
    ),
)
