// A streamed run as the page shows it: the answer's text, handoffs and tool cards in the order
// they happened, the agent answering, and how the run ended.
import type { ChatEvent } from "./events";

export type RunItem =
  | { kind: "text"; text: string }
  | { kind: "handoff"; from: string; to: string }
  | { kind: "tool"; callId: string; name: string; arguments: unknown; output?: unknown; done: boolean };

export interface RunView {
  status: "running" | "done" | "failed";
  conversationId: string | null;
  streamId: string | null;
  agent: string | null;
  items: RunItem[];
  error: { code: string; message: string } | null;
}

export const STARTING: RunView = {
  status: "running",
  conversationId: null,
  streamId: null,
  agent: null,
  items: [],
  error: null,
};

function appendText(items: RunItem[], text: string): RunItem[] {
  const last = items.at(-1);
  if (last?.kind === "text") return [...items.slice(0, -1), { kind: "text", text: last.text + text }];
  return [...items, { kind: "text", text }];
}

function withToolResult(items: RunItem[], callId: string, output: unknown): RunItem[] {
  return items.map((item) => (item.kind === "tool" && item.callId === callId ? { ...item, output, done: true } : item));
}

/** The run after ``event``. */
export function advance(run: RunView, event: ChatEvent): RunView {
  switch (event.event) {
    case "conversation":
      return { ...run, conversationId: event.data.conversation_id, streamId: event.data.stream_id };
    case "agent":
      return { ...run, agent: event.data.name };
    case "delta":
      return { ...run, items: appendText(run.items, event.data.text) };
    case "handoff":
      return { ...run, agent: event.data.to, items: [...run.items, { kind: "handoff", ...event.data }] };
    case "tool_call":
      return {
        ...run,
        items: [
          ...run.items,
          { kind: "tool", callId: event.data.call_id, name: event.data.name, arguments: event.data.arguments, done: false },
        ],
      };
    case "tool_result":
      return { ...run, items: withToolResult(run.items, event.data.call_id, event.data.output) };
    case "final":
      return { ...run, status: "done", agent: event.data.agent };
    case "error":
      return { ...run, status: "failed", error: event.data };
  }
}

/** Opens and closes a matched word in a search snippet (private-use characters no message holds). */
export const MATCH_START = "\uE000";
export const MATCH_END = "\uE001";

/** A search snippet as parts, the matched ones marked; the message's own ``**`` stays text. */
export function snippetParts(snippet: string): { text: string; marked: boolean }[] {
  const parts: { text: string; marked: boolean }[] = [];
  let marked = false;
  for (const piece of snippet.split(/([\uE000\uE001])/)) {
    if (piece === MATCH_START) marked = true;
    else if (piece === MATCH_END) marked = false;
    else if (piece !== "") parts.push({ text: piece, marked });
  }
  return parts;
}
