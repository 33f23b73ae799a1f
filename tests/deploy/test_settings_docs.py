"""docs/settings.md is what the settings models generate today, and every setting says what it does."""

from __future__ import annotations

from agentbus_shared.testing.checkout import script

from . import derive

generator = script("generate_settings_docs")


def test_checked_in_settings_document_matches_the_code() -> None:
    assert not generator.drifted(generator.generate()), (
        f"{generator.TARGET} differs from what the settings models generate: run "
        f"`{generator.COMMAND}` and commit the result"
    )


def test_every_setting_the_code_reads_is_documented() -> None:
    text = (derive.ROOT / generator.TARGET).read_text()
    missing = sorted(name for name in derive.all_settings() if f"`{name}`" not in text)
    assert not missing, f"docs/settings.md does not name {missing}"


def test_every_setting_says_what_it_does() -> None:
    silent = sorted(s.env for s in derive.all_settings().values() if not s.description)
    assert not silent, f"give {silent} a Field description: docs/settings.md shows it"


def test_generation_is_deterministic() -> None:
    assert generator.generate() == generator.generate()
