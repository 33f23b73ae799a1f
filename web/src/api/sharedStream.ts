// One server-sent event stream per browser, shared by its tabs: the tab holding a Web Lock follows it
// and tells the other tabs over a BroadcastChannel each event and liveness change; when it closes (or
// its person logs out) a waiting tab takes the lock and follows it itself. Over HTTP/1.1 a stream per
// tab would hold every connection the browser allows a host, and the gateway caps feeds per person.
import { followStream, type Liveness, type StreamFollower } from "./follow";
import type { ServerEvent } from "./events";

/** What a tab says on the channel: an event or liveness of the leader, or "who is live?" from a tab
 * that joined (the leader answers with its liveness). */
type TabMessage<Event> =
  | { kind: "event"; event: Event }
  | { kind: "liveness"; liveness: Liveness }
  | { kind: "joined" };

/** The channel between the tabs, as much of BroadcastChannel as sharing needs. */
export interface TabChannel {
  postMessage(message: unknown): void;
  onmessage: ((message: MessageEvent) => void) | null;
  close(): void;
}

/** The lock manager, as much of it as electing the leading tab needs. */
export interface TabLocks {
  request<T>(name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<T>): Promise<T>;
}

/** The browser's means of sharing: its lock manager and channels by name. */
export interface BrowserTabs {
  locks: TabLocks;
  channel(name: string): TabChannel;
}

/** The tabs of this browser, or null where Web Locks or BroadcastChannel are missing (an insecure
 * origin has no locks): each tab then follows its own stream. */
export function browserTabs(scope: Partial<typeof globalThis> = globalThis): BrowserTabs | null {
  const locks = scope.navigator?.locks;
  const Channel = scope.BroadcastChannel;
  if (!locks || !Channel) return null;
  return { locks, channel: (name) => new Channel(name) };
}

/** One tab's part in a shared stream: leading it (following it and telling the other tabs), or
 * hearing the leader (each liveness once, not again when a new tab joins). */
class StreamTab<Event> {
  private leading: Liveness | null = null;
  private heard: Liveness | null = null;

  constructor(
    private readonly channel: TabChannel,
    private readonly follower: StreamFollower<Event>,
    private readonly signal: AbortSignal,
  ) {
    channel.onmessage = ({ data }: MessageEvent<TabMessage<Event>>) => this.receive(data);
    this.tell({ kind: "joined" });
  }

  /** Follows the stream until ``signal`` aborts, telling the other tabs what it reads. */
  lead(parse: (message: ServerEvent) => Event | null): Promise<void> {
    this.onLiveness("connecting");
    const follower = { ...this.follower, onEvent: this.onEvent, onLiveness: this.onLiveness };
    return followStream(follower, parse, this.signal);
  }

  private readonly onEvent = (event: Event): void => {
    this.tell({ kind: "event", event });
    this.follower.onEvent(event);
  };

  private readonly onLiveness = (liveness: Liveness): void => {
    this.leading = liveness;
    this.tell({ kind: "liveness", liveness });
    this.follower.onLiveness(liveness);
  };

  private receive(message: TabMessage<Event>): void {
    if (this.signal.aborted) return;
    if (this.leading === null) this.hear(message);
    else if (message.kind === "joined") this.tell({ kind: "liveness", liveness: this.leading });
  }

  private hear(message: TabMessage<Event>): void {
    if (message.kind === "event") {
      this.follower.onEvent(message.event);
    } else if (message.kind === "liveness" && message.liveness !== this.heard) {
      this.heard = message.liveness;
      this.follower.onLiveness(message.liveness);
    }
  }

  private tell(message: TabMessage<Event>): void {
    if (!this.signal.aborted) this.channel.postMessage(message);
  }
}

/** Follows the stream called ``name`` once for all tabs: in the tab holding the lock it is read
 * with ``followStream``, every other tab hears its events (which must be structured-cloneable) and
 * liveness. Ends, releasing the lock and closing the channel, when ``signal`` aborts. */
export async function followSharedStream<Event>(
  name: string,
  follower: StreamFollower<Event>,
  parse: (message: ServerEvent) => Event | null,
  signal: AbortSignal,
  tabs: BrowserTabs | null = browserTabs(),
): Promise<void> {
  if (!tabs) return followStream(follower, parse, signal);
  const channel = tabs.channel(name);
  const tab = new StreamTab(channel, follower, signal);
  try {
    await tabs.locks.request(name, { signal }, () => tab.lead(parse));
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    channel.close();
  }
}
