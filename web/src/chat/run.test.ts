import { describe, expect, it } from "vitest";
import type { ChatEvent } from "./events";
import { advance, MATCH_END, MATCH_START, snippetParts, STARTING } from "./run";

const EVENTS: ChatEvent[] = [
  { event: "conversation", data: { conversation_id: "c_1", stream_id: "s_1" } },
  { event: "agent", data: { name: "triage" } },
  { event: "delta", data: { text: "Let me " } },
  { event: "delta", data: { text: "ask billing." } },
  { event: "handoff", data: { from: "triage", to: "billing" } },
  { event: "tool_call", data: { call_id: "t_1", name: "get_plan", arguments: { tenant: "x" } } },
  { event: "tool_result", data: { call_id: "t_1", output: { plan: "free" } } },
  { event: "delta", data: { text: "You are on Free." } },
  { event: "final", data: { output: "You are on Free.", agent: "billing", usage: {} } },
];

describe("advance", () => {
  it("shows text, handoffs and tool cards in the order they happened", () => {
    const run = EVENTS.reduce(advance, STARTING);
    expect(run).toMatchObject({ status: "done", conversationId: "c_1", streamId: "s_1", agent: "billing" });
    expect(run.items).toEqual([
      { kind: "text", text: "Let me ask billing." },
      { kind: "handoff", from: "triage", to: "billing" },
      { kind: "tool", callId: "t_1", name: "get_plan", arguments: { tenant: "x" }, output: { plan: "free" }, done: true },
      { kind: "text", text: "You are on Free." },
    ]);
  });

  it("names the agent as soon as a handoff happens, and keeps an error event plainly", () => {
    const handedOff = advance(STARTING, { event: "handoff", data: { from: "triage", to: "support" } });
    expect(handedOff.agent).toBe("support");
    const failed = advance(handedOff, { event: "error", data: { code: "cancelled", message: "The run was stopped." } });
    expect(failed).toMatchObject({ status: "failed", error: { code: "cancelled", message: "The run was stopped." } });
  });
});

describe("snippetParts", () => {
  it("marks the matched words", () => {
    expect(snippetParts(`my ${MATCH_START}invoice${MATCH_END} for ${MATCH_START}May${MATCH_END}`)).toEqual([
      { text: "my ", marked: false },
      { text: "invoice", marked: true },
      { text: " for ", marked: false },
      { text: "May", marked: true },
    ]);
  });

  it("leaves the answer's markdown bold as text, highlighting only the match", () => {
    expect(snippetParts(`the **total** of the **${MATCH_START}invoice${MATCH_END}**`)).toEqual([
      { text: "the **total** of the **", marked: false },
      { text: "invoice", marked: true },
      { text: "**", marked: false },
    ]);
  });

  it("a snippet without matches is one plain part", () => {
    expect(snippetParts("no match here")).toEqual([{ text: "no match here", marked: false }]);
  });
});
