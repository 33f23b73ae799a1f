import { describe, expect, it } from "vitest";
import { chatEvent, isTerminal } from "../chat/events";
import { openStream, serverEvents, type ServerEvent } from "./events";
import { ProblemError } from "./problem";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  for await (const event of serverEvents(body)) events.push(event);
  return events;
}

describe("serverEvents", () => {
  it("parses events split anywhere across chunks, skipping heartbeats", async () => {
    const events = await collect(
      streamOf([
        'event: conversation\nid: 1\ndata: {"conversation_id":"c_1",',
        '"stream_id":"s_1"}\n\n: heartbeat\n\nevent: del',
        'ta\nid: 2\ndata: {"text":"Hel"}\n\n',
        'event: delta\nid: 3\ndata: {"text":"lo"}\r\n\r\n',
      ]),
    );
    expect(events.map((e) => [e.event, e.id])).toEqual([
      ["conversation", "1"],
      ["delta", "2"],
      ["delta", "3"],
    ]);
    expect(JSON.parse(events[1]!.data)).toEqual({ text: "Hel" });
  });

  it("yields each event as soon as it is complete", async () => {
    let push: (text: string) => void = () => undefined;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => controller.enqueue(encoder.encode(text));
      },
    });
    const events = serverEvents(body);
    push('event: delta\ndata: {"text":"a"}\n\n');
    const first = await events.next();
    expect(first.value).toMatchObject({ event: "delta" });
  });

  it("multi-line data is joined with newlines", async () => {
    const [event] = await collect(streamOf(["data: one\ndata: two\n\n"]));
    expect(event).toEqual({ event: "message", data: "one\ntwo", id: undefined });
  });
});

describe("chatEvent", () => {
  it("types the run's events and knows which end it", () => {
    const final = chatEvent({ event: "final", data: '{"output":"hi","agent":"triage","usage":{}}', id: "9" });
    expect(final).toEqual({ event: "final", data: { output: "hi", agent: "triage", usage: {} } });
    expect(final && isTerminal(final)).toBe(true);
    expect(isTerminal({ event: "delta", data: { text: "x" } })).toBe(false);
  });

  it("ignores events it does not know", () => {
    expect(chatEvent({ event: "future", data: "{}", id: undefined })).toBeNull();
  });
});

describe("openStream", () => {
  it("answers the body of an accepted stream", async () => {
    const body = streamOf(["data: hi\n\n"]);
    const opened = await openStream(Promise.resolve({ data: body, response: new Response(null, { status: 200 }) }));
    expect(opened).toBe(body);
  });

  it("throws the server's problem, with its request id, when the stream is refused", async () => {
    const refused = openStream(
      Promise.resolve({
        error: { status: 429, detail: "Too many streams.", code: "rate_limited" },
        response: new Response(null, { status: 429, headers: { "X-Request-ID": "req_7" } }),
      }),
    );
    await expect(refused).rejects.toThrow(ProblemError);
    await expect(refused).rejects.toMatchObject({ problem: { code: "rate_limited", requestId: "req_7" } });
  });

  it("throws when an accepted answer has no body to read", async () => {
    const empty = openStream(Promise.resolve({ data: null, response: new Response(null, { status: 200 }) }));
    await expect(empty).rejects.toThrow(ProblemError);
  });
});
