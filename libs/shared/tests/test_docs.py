"""The docs a newcomer follows stay true: the decisions index lists every decision record, and
the service guide names files, modules and links that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from agentbus_shared.testing.checkout import ROOT

ADR = ROOT / "docs" / "adr"
INDEX = ADR / "README.md"
ENTRY = re.compile(r"^- \[(?P<title>[^\]]+)\]\((?P<file>[^)]+\.md)\): (?P<decision>.+)$", re.M)
GUIDE = ROOT / "docs" / "building-a-service.md"
DOTTED = re.compile(r"`(agentbus_[a-z_]+(?:\.[A-Za-z_]+)*)")
REPO_PATH = re.compile(r"`((?:deploy|docs|libs|scripts|services|tools)/[^`<>*\s]*)`")
LINK = re.compile(r"\]\(([^)#\s=]+)\)")


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


def resolves(dotted: str) -> bool:
    """``dotted`` is a module, or an attribute of the longest module it starts with."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def layout_paths(text: str) -> list[Path]:
    """The first word of each line of the guide's layout tree, as a path by its indentation."""
    block = text.split("## The layout", 1)[1].split("```", 2)[1]
    parents: dict[int, Path] = {}
    paths = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        word = line.split()[0]
        path = parents.get(depth - 2, ROOT) / word
        paths.append(path)
        if word.endswith("/"):
            parents[depth] = path
    return paths


def test_the_service_guide_names_modules_that_exist() -> None:
    text = GUIDE.read_text()
    names = sorted(set(DOTTED.findall(text)))
    assert names
    assert [name for name in names if not resolves(name)] == []


@pytest.mark.parametrize("doc", [GUIDE, ROOT / "README.md"], ids=lambda doc: doc.name)
def test_the_service_guide_and_readme_name_files_that_exist(doc: Path) -> None:
    text = doc.read_text()
    named = [ROOT / path for path in REPO_PATH.findall(text)]
    linked = [doc.parent / link for link in LINK.findall(text) if "://" not in link]
    if doc == GUIDE:
        named += layout_paths(text)
    assert [str(path) for path in [*named, *linked] if not path.exists()] == []
