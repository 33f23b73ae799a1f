"""Fail when any package's line coverage is under the gate (default 80%).

Reads ``coverage.json`` (``coverage json``) and groups files by their top
package (``agentbus_shared``, ``agentbus_auth``, …).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

GATE = float(sys.argv[1]) if len(sys.argv) > 1 else 80.0


def main() -> int:
    report = json.loads(Path("coverage.json").read_text())
    covered: dict[str, int] = defaultdict(int)
    statements: dict[str, int] = defaultdict(int)
    for path, data in report["files"].items():
        package = next((part for part in Path(path).parts if part.startswith("agentbus_")), None)
        if package is None:
            continue
        covered[package] += data["summary"]["covered_lines"]
        statements[package] += data["summary"]["num_statements"]
    failed = False
    for package in sorted(statements):
        percent = 100.0 * covered[package] / max(1, statements[package])
        mark = "ok" if percent >= GATE else "BELOW GATE"
        failed |= percent < GATE
        print(
            f"{package:<20} {percent:6.1f}%  ({covered[package]}/{statements[package]} lines)  {mark}"
        )
    if failed:
        print(f"coverage gate: every package needs at least {GATE:.0f}% of its lines covered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
