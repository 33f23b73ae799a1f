"""The tool registry: each tool declares its key, description, arguments and which agents may use it.

The tools are real: the current time, a search over the caller's own
conversations, the tenant's billing summary (an RPC to billing, made with the
caller's principal) and a safe calculator. Each receives the tenant and the
user through the run context (:class:`ChatContext`), never through globals,
and acts with the caller's scopes: a tool that reads what a route guards with
a scope (conversations, billing) answers "not permitted" to a caller without
it, so a run never shows more than its caller could read directly.
A tool answers in plain sentences, which suits a language model and the
builtin model alike; a failure it can explain (billing down, bad time zone)
is an answer, not a crash of the run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agents import FunctionTool
from agents.strict_schema import ensure_strict_json_schema
from agents.tool_context import ToolContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentbus_chat.agents import calculator
from agentbus_chat.agents.context import ChatContext
from agentbus_shared.contracts.billing import BillingSummary
from agentbus_shared.contracts.chat import MATCH_END, MATCH_START, SearchHit
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.errors import AgentbusError, Forbidden
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

EVERY_AGENT = frozenset({"*"})


class ToolArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CurrentTimeArgs(ToolArguments):
    timezone: str = Field(
        description="IANA time zone name, e.g. UTC, Europe/Paris, America/New_York",
        max_length=64,
    )


class SearchArgs(ToolArguments):
    query: str = Field(description="words to look for", min_length=1, max_length=256)


class NoArgs(ToolArguments):
    pass


class CalculatorArgs(ToolArguments):
    expression: str = Field(
        description="arithmetic such as (12.5 * 4) / 3 or sqrt(2) ^ 2",
        min_length=1,
        max_length=calculator.MAX_EXPRESSION_CHARS,
    )


ToolRunner = Callable[[ChatContext, Any], Awaitable[str]]


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what it is called, what it takes, what it does, and who may use it."""

    key: str
    description: str
    arguments: type[ToolArguments]
    run: ToolRunner
    agents: frozenset[str] = EVERY_AGENT
    """Agents allowed to use the tool (``*`` = any); an agent also has to list it."""
    scopes: frozenset[str] = frozenset()
    """Scopes the run's caller must hold: those of the routes that read the same data."""

    def allows(self, agent: str) -> bool:
        return "*" in self.agents or agent in self.agents

    def schema(self) -> dict[str, Any]:
        return ensure_strict_json_schema(self.arguments.model_json_schema())

    def function_tool(self) -> FunctionTool:
        """The tool as the Agents SDK sees it; it re-checks the agent's scope on every call."""

        async def invoke(tool_context: ToolContext[ChatContext], raw_arguments: str) -> str:
            agent = tool_context.agent.name if tool_context.agent is not None else ""
            if not self.allows(agent):
                log.warning("tool.out_of_scope", tool=self.key, agent=agent)
                raise ToolNotAllowed(self.key, agent)
            try:
                tool_context.context.principal.require(*sorted(self.scopes))
            except Forbidden as refused:
                log.info("tool.not_permitted", tool=self.key, details=refused.details)
                return not_permitted(self.key, refused)
            try:
                arguments = self.arguments.model_validate_json(raw_arguments or "{}")
            except ValidationError as exc:
                return f"Invalid arguments for {self.key}: {_first_error(exc)}"
            return await self.run(tool_context.context, arguments)

        return FunctionTool(
            name=self.key,
            description=self.description,
            params_json_schema=self.schema(),
            on_invoke_tool=invoke,
            strict_json_schema=True,
        )


class ToolNotAllowed(PermissionError):
    """A model asked for a tool outside its agent's scope."""

    def __init__(self, tool: str, agent: str) -> None:
        super().__init__(f"agent {agent!r} may not use tool {tool!r}")
        self.tool = tool
        self.agent = agent


class MessageSearch(Protocol):
    async def __call__(
        self, *, tenant_id: str, user_id: str, query: str, limit: int, exclude_run: str | None
    ) -> list[SearchHit]: ...


class BillingSummaryClient(Protocol):
    async def __call__(self, principal: Principal) -> BillingSummary: ...


def build_tools(*, search: MessageSearch, billing: BillingSummaryClient) -> list[ToolSpec]:
    """The product's tools, wired to the services they call."""

    async def current_time(_: ChatContext, args: CurrentTimeArgs) -> str:
        try:
            zone = await asyncio.to_thread(ZoneInfo, args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return f"Unknown time zone {args.timezone!r}; use an IANA name such as Europe/Paris."
        now = datetime.now(UTC).astimezone(zone)
        return f"It is {now:%A %d %B %Y, %H:%M} in {args.timezone} ({now.isoformat(timespec='seconds')})."

    async def search_conversations(context: ChatContext, args: SearchArgs) -> str:
        hits = await search(
            tenant_id=context.tenant_id,
            user_id=context.user_id,
            query=args.query,
            limit=5,
            exclude_run=context.run_id,
        )
        if not hits:
            return f"No earlier messages mention {args.query!r}."
        lines = [f"- {hit.created_at:%Y-%m-%d}: {_plain(hit.snippet)}" for hit in hits]
        return f"Earlier messages about {args.query!r}:\n" + "\n".join(lines)

    async def billing_summary(context: ChatContext, _: NoArgs) -> str:
        try:
            summary = await billing(context.principal)
        except Forbidden as refused:
            return not_permitted("billing_summary", refused)
        except AgentbusError as exc:
            log.warning("tool.billing_failed", code=exc.code, status=exc.status)
            return "The billing service is not reachable right now; please try again shortly."
        return describe_billing(summary)

    async def calculate(_: ChatContext, args: CalculatorArgs) -> str:
        try:
            value = calculator.evaluate(args.expression)
        except calculator.CalculationError as exc:
            return f"Could not calculate {args.expression!r}: {exc}"
        return f"{args.expression.strip()} = {calculator.format_number(value)}"

    return [
        ToolSpec(
            key="current_time",
            description="The current date and time in a time zone.",
            arguments=CurrentTimeArgs,
            run=current_time,
        ),
        ToolSpec(
            key="search_conversations",
            description="Full-text search over the user's own earlier messages.",
            arguments=SearchArgs,
            run=search_conversations,
            agents=frozenset({"support", "research"}),
            scopes=frozenset({Scope.CONVERSATIONS_READ}),
        ),
        ToolSpec(
            key="billing_summary",
            description="The tenant's plan, subscription status and usage this period.",
            arguments=NoArgs,
            run=billing_summary,
            agents=frozenset({"billing"}),
            scopes=frozenset({Scope.BILLING_READ}),
        ),
        ToolSpec(
            key="calculator",
            description="Evaluate arithmetic exactly (+ - * / // % ^, parentheses, sqrt, log...).",
            arguments=CalculatorArgs,
            run=calculate,
            agents=frozenset({"research"}),
        ),
    ]


def not_permitted(tool: str, refused: Forbidden) -> str:
    """The answer of a tool whose caller lacks a scope it needs (nothing of the data leaks)."""
    details = refused.details if isinstance(refused.details, dict) else {}
    needed = " ".join(details.get("missing_scopes", [])) or "a scope"
    return f"Not permitted: {tool} needs {needed}, which the caller does not hold."


def describe_billing(summary: BillingSummary) -> str:
    sub, usage = summary.subscription, summary.usage
    parts = [f"The tenant is on the {sub.plan} plan ({sub.status})."]
    if sub.current_period_end is not None:
        renewal = "ends" if sub.cancel_at_period_end else "renews"
        parts.append(f"The subscription {renewal} on {sub.current_period_end:%Y-%m-%d}.")
    meters = [
        f"{m.used} {m.meter}" + (f" of {m.limit}" if m.limit is not None else " (unlimited)")
        for m in usage.meters
    ]
    if meters:
        parts.append("Usage this period: " + ", ".join(meters) + ".")
    return " ".join(parts)


def _plain(snippet: str) -> str:
    return snippet.replace(MATCH_START, "").replace(MATCH_END, "").replace("\n", " ")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
    return f"{where}: {error.get('msg', 'invalid')}"


def tool_arguments(raw: str) -> Any:
    """Arguments as JSON data for a ``tool_call`` frame (the raw text if it is not JSON)."""
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return raw


__all__ = [
    "BillingSummaryClient",
    "MessageSearch",
    "ToolNotAllowed",
    "ToolSpec",
    "build_tools",
    "describe_billing",
    "not_permitted",
    "tool_arguments",
]
