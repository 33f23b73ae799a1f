"""Generate the deployed NATS users and permissions from the code: ``deploy/k8s/base/nats/accounts.conf``.

Compose (``deploy/nats/nats.conf``) and Kubernetes include that one file; the dev stack and the
test fixtures render the same users (:mod:`agentbus_shared.bus.permissions`) for the servers
they start. ``--check`` writes nothing and exits 1 when the checked-in file differs
(``tests/deploy/test_nats_permissions.py`` does the same).

``--transitional`` writes the file for the roll of an upgrade from a release whose services
used ``_INBOX.>`` (every service keeps those rights too): apply it, roll the services, then
run this again without it and apply the final file (docs/runbooks/upgrade-bus-inboxes.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentbus_shared.bus.permissions import deployed_accounts, transitional_accounts

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS_CONF = ROOT / "deploy" / "k8s" / "base" / "nats" / "accounts.conf"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="Only compare; exit 1 on drift.")
    parser.add_argument(
        "--transitional",
        action="store_true",
        help="Also grant the previous release's _INBOX.> rights, for the roll of an upgrade.",
    )
    args = parser.parse_args()
    if args.check and args.transitional:
        parser.error("--check compares the final file: drop --transitional")
    wanted = transitional_accounts() if args.transitional else deployed_accounts()
    if args.check:
        if ACCOUNTS_CONF.read_text() != wanted:
            print(f"{ACCOUNTS_CONF.relative_to(ROOT)} is stale: run {Path(__file__).name}")
            return 1
        return 0
    ACCOUNTS_CONF.write_text(wanted)
    kind = "transitional " if args.transitional else ""
    print(f"wrote {kind}{ACCOUNTS_CONF.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
