"""Generate docs/settings.md, every setting of every process, from the settings models: `uv run task docs`.

``--check`` writes nothing and exits 1 when the checked-in file differs from a
freshly generated one (``tests/deploy/test_settings_docs.py`` does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentbus_shared import manifest
from agentbus_shared.settings_catalog import (
    DEV_VALUE,
    SHARED,
    Kind,
    Setting,
    catalog,
    settings_class,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path("docs/settings.md")
COMMAND = "uv run task docs"

INTRO = f"""# Settings

Every environment variable the Agentbus processes read, generated from their settings models
(`libs/shared/src/agentbus_shared/settings.py`, `services/*/src/agentbus_*/settings.py`) by
`{COMMAND}`; `tests/deploy/test_settings_docs.py` fails when this file and the code disagree.

Three kinds, in this order for every service:

- **Operator settings**: what you decide when you run Agentbus (secrets, public URLs, mail,
  Stripe, the model, CORS, trusted proxies, logs). Each one is in `.env.example` (compose) and
  in `deploy/k8s/base/config/settings.env` (Kubernetes; secrets come from the Secrets named in
  `docs/runbooks/first-deploy.md`).
- **Set by the deployment**: what compose, the Kubernetes manifests and `agentbus dev` set for
  each process (its address and port, its bus user, the store URLs). Set one yourself only to
  run a process by hand.
- **Tuning**: engineering knobs with tested defaults, one nested model per service. Change one
  to test, to measure, or on an engineer's advice: `AUTH_TUNING__LOCKOUT_THRESHOLD=10`, or
  several at once as JSON, `AUTH_TUNING='{{"lockout_threshold": 10}}'`. An unknown knob is
  refused at start-up.

Lists and tables are JSON (`GATEWAY_TRUSTED_PROXIES='["10.0.0.0/8"]'`).
"""

HEADINGS = {
    Kind.OPERATOR: "Operator settings",
    Kind.DEPLOYMENT: "Set by the deployment",
    Kind.TUNING: "Tuning",
}


def generate() -> str:
    """The text of docs/settings.md."""
    sections = [INTRO]
    for owner, settings in catalog().items():
        sections.append(_owner_section(owner, settings))
    return "\n".join(sections)


def _owner_section(owner: str, settings: list[Setting]) -> str:
    title = "Every process" if owner == SHARED else f"{owner}"
    parts = [f"## {title}\n"]
    for kind, heading in HEADINGS.items():
        rows = [s for s in settings if s.kind is kind]
        if rows:
            parts.append(f"### {_heading(owner, kind, heading)}\n\n{_table(rows)}")
    return "\n".join(parts)


def _heading(owner: str, kind: Kind, heading: str) -> str:
    if kind is not Kind.TUNING:
        return heading
    service = next(s for s in manifest.discover() if s.name == owner)
    return f"{heading} (`{settings_class(service).tuning_variable()}`)"


def _table(rows: list[Setting]) -> str:
    lines = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    lines.extend(
        f"| {' or '.join(f'`{name}`' for name in s.names)} | {_default(s)} | {_cell(s)} |"
        for s in rows
    )
    return "\n".join(lines) + "\n"


def _default(setting: Setting) -> str:
    if not setting.default:
        return "unset"
    if setting.default == DEV_VALUE:
        return DEV_VALUE
    return f"`{_escaped(setting.default)}`"


def _cell(setting: Setting) -> str:
    secret = " (secret)" if setting.secret else ""
    return _escaped(setting.description) + secret


def _escaped(text: str) -> str:
    return text.replace("|", "\\|")


def drifted(text: str, root: Path = ROOT) -> bool:
    """Whether the checked-in docs/settings.md is missing or differs from ``text``."""
    target = root / TARGET
    return not target.exists() or target.read_text() != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the document drifted")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        if drifted(text):
            print(f"{TARGET} differs from the code; run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    (ROOT / TARGET).write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
