import { describe, expect, it, vi } from "vitest";
import type { ServerEvent } from "./events";
import { abortableWait, type Liveness } from "./follow";
import { browserTabs, followSharedStream, type BrowserTabs, type TabChannel, type TabLocks } from "./sharedStream";

/** One exclusive lock, granted in the order asked; a waiting request aborted leaves the queue. */
class FakeLocks implements TabLocks {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  async request<T>(_name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<T>): Promise<T> {
    if (this.held) await this.turn(options.signal);
    this.held = true;
    try {
      return await callback(null);
    } finally {
      this.held = false;
      this.waiting.shift()?.();
    }
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      signal?.addEventListener("abort", () => {
        this.waiting.splice(this.waiting.indexOf(resolve), 1);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  }
}

/** Channels of one name: a message reaches every other open one, a copy, a moment later. */
class FakeChannels {
  private readonly open = new Set<TabChannel>();

  channel = (): TabChannel => {
    const channel: TabChannel = {
      onmessage: null,
      postMessage: (message) => {
        for (const other of this.open) if (other !== channel) this.deliver(other, structuredClone(message));
      },
      close: () => this.open.delete(channel),
    };
    this.open.add(channel);
    return channel;
  };

  private deliver(channel: TabChannel, data: unknown): void {
    queueMicrotask(() => {
      if (this.open.has(channel)) channel.onmessage?.({ data } as MessageEvent);
    });
  }
}

/** The gateway's stream: each open is one request; ``send`` writes an event to every open one. */
class FakeServer {
  opened = 0;
  private readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();

  open = async (signal: AbortSignal): Promise<ReadableStream<Uint8Array>> => {
    this.opened += 1;
    return new ReadableStream({
      start: (controller) => {
        this.streams.add(controller);
        signal.addEventListener("abort", () => {
          this.streams.delete(controller);
          controller.error(new DOMException("aborted", "AbortError"));
        });
      },
    });
  };

  send(data: string): void {
    for (const stream of this.streams) stream.enqueue(new TextEncoder().encode(`event: note\ndata: ${data}\n\n`));
  }
}

const parse = (message: ServerEvent) => message.data;

/** A tab following the shared stream: what it heard, and its stop (closing the tab). */
function tab(server: FakeServer, browser: BrowserTabs | null) {
  const stop = new AbortController();
  const events: string[] = [];
  const liveness: Liveness[] = [];
  const follower = {
    open: server.open,
    wait: abortableWait,
    onEvent: (event: string) => events.push(event),
    onLiveness: (now: Liveness) => liveness.push(now),
  };
  const done = followSharedStream("stream:usr_ada", follower, parse, stop.signal, browser);
  return { stop, events, liveness, done };
}

function browser(): BrowserTabs {
  const channels = new FakeChannels();
  return { locks: new FakeLocks(), channel: channels.channel };
}

describe("followSharedStream", () => {
  it("opens one stream for all tabs: the others hear its events and liveness, each change once", async () => {
    const server = new FakeServer();
    const shared = browser();
    const leader = tab(server, shared);
    await vi.waitFor(() => expect(leader.liveness).toEqual(["connecting", "live"]));
    const other = tab(server, shared);
    await vi.waitFor(() => expect(other.liveness).toEqual(["live"]));
    const third = tab(server, shared);
    await vi.waitFor(() => expect(third.liveness).toEqual(["live"]));
    server.send("first");
    await vi.waitFor(() => expect(third.events).toEqual(["first"]));
    expect([leader.events, other.events]).toEqual([["first"], ["first"]]);
    expect(other.liveness).toEqual(["live"]);
    expect(server.opened).toBe(1);
    for (const closing of [third, other, leader]) closing.stop.abort();
    await Promise.all([leader.done, other.done, third.done]);
  });

  it("opens the stream in the next tab when the leading one closes", async () => {
    const server = new FakeServer();
    const shared = browser();
    const leader = tab(server, shared);
    await vi.waitFor(() => expect(leader.liveness).toContain("live"));
    const next = tab(server, shared);
    await vi.waitFor(() => expect(next.liveness).toEqual(["live"]));
    leader.stop.abort();
    await leader.done;
    await vi.waitFor(() => expect(next.liveness).toEqual(["live", "connecting", "live"]));
    expect(server.opened).toBe(2);
    server.send("after");
    await vi.waitFor(() => expect(next.events).toEqual(["after"]));
    expect(leader.events).toEqual([]);
    next.stop.abort();
    await next.done;
  });

  it("lets a waiting tab go without taking the lock", async () => {
    const server = new FakeServer();
    const shared = browser();
    const leader = tab(server, shared);
    const leaving = tab(server, shared);
    leaving.stop.abort();
    await leaving.done;
    const next = tab(server, shared);
    leader.stop.abort();
    await vi.waitFor(() => expect(next.liveness).toContain("connecting"));
    expect(leaving.liveness).not.toContain("connecting");
    next.stop.abort();
    await Promise.all([leader.done, next.done]);
  });

  it("follows the stream in every tab where the browser cannot share it", async () => {
    expect(browserTabs({})).toBeNull();
    const server = new FakeServer();
    const tabs = [tab(server, browserTabs({})), tab(server, browserTabs({}))];
    await vi.waitFor(() => expect(server.opened).toBe(2));
    server.send("each");
    await vi.waitFor(() => expect(tabs.map((alone) => alone.events)).toEqual([["each"], ["each"]]));
    for (const alone of tabs) alone.stop.abort();
    await Promise.all(tabs.map((alone) => alone.done));
  });
});
