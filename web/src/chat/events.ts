// The events of a streamed chat run (POST /api/v1/chat/stream), typed, from the server's events.
import type { ServerEvent } from "../api/events";

export type ChatEvent =
  | { event: "conversation"; data: { conversation_id: string; stream_id: string } }
  | { event: "agent"; data: { name: string } }
  | { event: "delta"; data: { text: string } }
  | { event: "tool_call"; data: { call_id: string; name: string; arguments: unknown } }
  | { event: "tool_result"; data: { call_id: string; output: unknown } }
  | { event: "handoff"; data: { from: string; to: string } }
  | { event: "final"; data: { output: string; agent: string; usage: Record<string, number> } }
  | { event: "error"; data: { code: string; message: string } };

const NAMES = new Set<string>([
  "conversation",
  "agent",
  "delta",
  "tool_call",
  "tool_result",
  "handoff",
  "final",
  "error",
]);

/** The chat event an SSE event carries; null for an event this app does not know (newer servers). */
export function chatEvent(event: ServerEvent): ChatEvent | null {
  if (!NAMES.has(event.event)) return null;
  return { event: event.event, data: JSON.parse(event.data) } as ChatEvent;
}

/** True for the event that ends a run: exactly one `final` or `error` closes every stream. */
export function isTerminal(event: ChatEvent): boolean {
  return event.event === "final" || event.event === "error";
}
