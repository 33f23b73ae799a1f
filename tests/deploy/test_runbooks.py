"""The runbooks stay true: every `agentbus …` command they tell an operator to run exists."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from agentbus_shared import cli

from . import derive

RUNBOOKS = derive.ROOT / "docs" / "runbooks"
# `agentbus <words>`, but not the namespace (`-n agentbus get pods`) nor prose ("the agentbus owner").
COMMAND = re.compile(
    r"(?<!-n )(?<!namespace )(--entrypoint )?(?:(?<=^)|(?<=[\s`(]))agentbus "
    r"((?:[a-z][a-z0-9-]*)(?: [a-z][a-z0-9-]*)*)",
    re.M,
)
NOT_COMMANDS = {"owner", "namespace"}


def mentioned_commands() -> list[tuple[str, str]]:
    found = []
    for path in sorted(RUNBOOKS.glob("*.md")):
        for match in COMMAND.finditer(path.read_text()):
            words = match.group(2).split()
            if match.group(1):
                words = words[1:]  # `--entrypoint agentbus <compose service> <command…>`
            if words and words[0] not in NOT_COMMANDS:
                found.append((path.name, " ".join(words)))
    return found


@pytest.fixture(scope="module")
def root() -> Any:
    cli._add_service_commands()
    return typer.main.get_command(cli.app)


def _is_group(node: Any) -> bool:
    return isinstance(getattr(node, "commands", None), dict)


def resolve(root: Any, words: list[str]) -> list[str]:
    """The command (or group) path the words name; LookupError when a group has no such member."""
    node = root
    path: list[str] = []
    for word in words:
        if not _is_group(node):
            break
        child = node.commands.get(word)
        if child is None:
            raise LookupError(f"`agentbus {' '.join([*path, word])}`")
        node, path = child, [*path, word]
    return path


def test_runbooks_exist_for_every_task_the_index_lists() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for link in re.findall(r"\]\(([^)]+\.md)\)", index):
        assert (RUNBOOKS / link).exists(), link
    for needed in (
        "first-deploy",
        "signing-keys",
        "stripe-webhooks",
        "scaling",
        "restore-postgres",
    ):
        assert needed in index


def test_every_agentbus_command_in_the_runbooks_exists(root: Any) -> None:
    missing = []
    for runbook, words in mentioned_commands():
        try:
            resolve(root, shlex.split(words))
        except LookupError as exc:
            missing.append(f"{runbook}: {exc}")
    assert not missing, "runbooks name commands the CLI lacks:\n" + "\n".join(sorted(set(missing)))
