"""The activity service's own errors: what a caller is told when a feed item or a rebuild says no."""

from __future__ import annotations

from agentbus_shared.errors import Conflict, NotFound


class ActivityItemNotFound(NotFound):
    code = "activity_item_not_found"
    default_message = "There is no such item in your feed."


class RebuildRunning(Conflict):
    code = "rebuild_running"
    default_message = (
        "A rebuild of the feed is already running; wait for it, or take over an interrupted one "
        "with --take-over."
    )


class RebuildTakenOver(Conflict):
    code = "rebuild_taken_over"
    default_message = (
        "This rebuild is no longer the running one (another took over, or its tenant was "
        "deprovisioned); its work was dropped and the feed left as it was."
    )
