"""The docs a newcomer follows stay true: the decisions index lists every decision record."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ADR = ROOT / "docs" / "adr"
INDEX = ADR / "README.md"
ENTRY = re.compile(r"^- \[(?P<title>[^\]]+)\]\((?P<file>[^)]+\.md)\): (?P<decision>.+)$", re.M)


def index_entries() -> dict[str, str]:
    """Each indexed record's file name and the title it is listed under."""
    return {m["file"]: m["title"] for m in ENTRY.finditer(INDEX.read_text())}


def title_of(record: Path) -> str:
    return record.read_text().splitlines()[0].removeprefix("# ").strip()


def test_every_decision_record_is_indexed_under_its_title() -> None:
    records = {p.name: title_of(p) for p in ADR.glob("*.md") if p != INDEX}
    assert index_entries() == records, (
        "docs/adr/README.md must list every record of docs/adr (and no other) under its own "
        "title, one line each: - [title](file.md): the decision in one sentence."
    )


def test_each_index_line_says_the_decision_in_one_sentence() -> None:
    for match in ENTRY.finditer(INDEX.read_text()):
        decision = match["decision"]
        assert decision.endswith("."), match["file"]
        assert ". " not in decision.rstrip("."), f"{match['file']}: more than one sentence"
