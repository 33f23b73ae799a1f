"""``python -m agentbus_stripe_standin``: run the Stripe stand-in.

Webhooks go to ``--webhook-url`` (or ``STRIPE_STANDIN_WEBHOOK_URL``), signed with
the first secret of ``STRIPE_WEBHOOK_SECRETS``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from agentbus_stripe_standin.server import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agentbus_stripe_standin")
    parser.add_argument("--host", default=os.environ.get("HTTP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "12111")))
    parser.add_argument("--webhook-url", default=os.environ.get("STRIPE_STANDIN_WEBHOOK_URL"))
    parser.add_argument("--public-url", default=os.environ.get("STRIPE_STANDIN_PUBLIC_URL"))
    parser.add_argument(
        "--data-file",
        type=Path,
        default=os.environ.get("STRIPE_STANDIN_DATA_FILE") or None,
        help="Keep the stand-in's objects in this file across restarts (default: memory only).",
    )
    args = parser.parse_args()
    secrets = [s.strip() for s in os.environ.get("STRIPE_WEBHOOK_SECRETS", "").split(",")]
    secret = next((s for s in secrets if s), None)
    public_url = args.public_url or f"http://{args.host}:{args.port}"
    with contextlib.suppress(KeyboardInterrupt):
        run(
            host=args.host,
            port=args.port,
            public_url=public_url,
            webhook_secret=secret,
            webhook_url=args.webhook_url,
            data_file=args.data_file,
        )


if __name__ == "__main__":
    main()
