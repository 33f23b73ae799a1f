"""What ``agentbus dev`` says once everything is up: where to go, where mail lands, how to stop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentbus_shared.devstack import DevStack

HEADLINE = "Agentbus is running."


@dataclass(frozen=True)
class Summary:
    """The block printed once every service is ready: one labelled line each."""

    lines: tuple[tuple[str, str], ...]

    def render(self) -> str:
        width = max(len(label) for label, _ in self.lines)
        rows = [f"  {label:<{width}}  {value}" for label, value in self.lines]
        return "\n".join(["", HEADLINE, "", *rows, ""])


def summarize(stack: DevStack) -> Summary:
    """Where the API, its docs, the mail and the stand-ins are, where logs go, and how to stop."""
    lines: list[tuple[str, str]] = []
    gateway = stack.ports.get("gateway")
    if gateway:
        url = f"http://127.0.0.1:{gateway}"
        lines += [("Web and API", url), ("API docs", f"{url}/docs")]
    if "auth" in stack.ports:
        lines.append(("Mail", _mail(stack.environ, stack.var)))
    lines += _stand_ins(stack)
    lines += [("Logs", _logs(stack)), ("Stop", "Ctrl-C")]
    return Summary(tuple(lines))


def _mail(environ: Mapping[str, str], var: Path) -> str:
    """Auth's mail: files under the var directory unless it sends through SMTP."""
    if environ.get("AUTH_MAIL_BACKEND") == "smtp":
        return f"sent through SMTP ({environ.get('AUTH_SMTP_HOST') or 'AUTH_SMTP_HOST'})"
    folder = Path(environ.get("AUTH_MAIL_DIR") or var / "mail")
    return f"{_shown(folder)}/ (one .eml file per mail: codes, resets, invites)"


def _stand_ins(stack: DevStack) -> list[tuple[str, str]]:
    """Each companion's line: its URL, or the real thing when the environment configures it."""
    running = {process.manifest.name: process.url for process in stack.companions}
    lines: list[tuple[str, str]] = []
    for service in stack.selected():
        for companion in service.companions:
            label = companion.stands_in_for or companion.name
            if companion.name in running:
                lines.append((label, f"stand-in at {running[companion.name]}"))
            elif companion.unless_env and stack.environ.get(companion.unless_env):
                lines.append((label, f"real {label} ({companion.unless_env} is set)"))
    return lines


def _logs(stack: DevStack) -> str:
    if stack.log_to_files:
        return f"{_shown(stack.var / 'logs')}/<service>.log"
    if stack.verbose:
        return "every line, here"
    return "warnings and errors, here (--verbose for every line)"


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
