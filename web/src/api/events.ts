// Server-sent events read incrementally from a fetch body (POST streams cannot use EventSource).
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ProblemError, toProblem } from "./problem";

export interface ServerEvent {
  event: string;
  data: string;
  id: string | undefined;
}

function asServerEvent(message: EventSourceMessage): ServerEvent {
  return { event: message.event ?? "message", data: message.data, id: message.id };
}

/** Each event of ``body`` as soon as its blank line arrives; comments (heartbeats) are skipped. */
export async function* serverEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const pending: ServerEvent[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(asServerEvent(message)) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      parser.feed(decoder.decode(value, { stream: !done }));
      yield* pending.splice(0);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** What the typed client answers for a request sent with ``parseAs: "stream"``. */
export interface StreamAnswer {
  data?: ReadableStream<Uint8Array> | null;
  error?: unknown;
  response: Response;
}

/** The stream's body once the server accepted it, else a ProblemError with the server's answer. */
export async function openStream(request: Promise<StreamAnswer>): Promise<ReadableStream<Uint8Array>> {
  const { data, error, response } = await request;
  if (!response.ok || !data) throw new ProblemError(toProblem(error, response));
  return data;
}
