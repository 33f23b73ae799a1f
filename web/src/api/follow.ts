// Following a server-sent event stream of the gateway (billing, activity): its events parsed,
// reconnecting after errors with a growing wait, until stopped (the page closed, or the person
// logged out).
import { serverEvents, type ServerEvent } from "./events";
import { ProblemError } from "./problem";

export const FIRST_WAIT_MS = 1_000;
export const LONGEST_WAIT_MS = 30_000;

/** The wait before reconnecting after ``failures`` failed tries in a row (doubling, capped), and
 * never shorter than a Retry-After the gateway asked for. */
export function reconnectDelayMs(failures: number, retryAfterSeconds: number | null = null): number {
  const backoff = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** failures);
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}

export type Liveness = "connecting" | "live" | "reconnecting";

export interface StreamFollower<Event> {
  /** Opens the stream (a fresh request with the session's current token). */
  open(signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  onEvent(event: Event): void;
  onLiveness(liveness: Liveness): void;
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/** A refusal that reconnecting cannot mend: the session is over or the caller may not follow it. */
function isFinal(error: unknown): boolean {
  return error instanceof ProblemError && [401, 403].includes(error.problem.status);
}

function retryAfterOf(error: unknown): number | null {
  return error instanceof ProblemError ? error.problem.retryAfter : null;
}

/** Reads the stream until ``signal`` aborts, opening it again after every end or error; each event
 * ``parse`` knows (null: one the app does not show) goes to the follower. */
export async function followStream<Event>(
  follower: StreamFollower<Event>,
  parse: (message: ServerEvent) => Event | null,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let retryAfter: number | null = null;
    try {
      const body = await follower.open(signal);
      failures = 0;
      follower.onLiveness("live");
      for await (const message of serverEvents(body)) {
        const event = parse(message);
        if (event) follower.onEvent(event);
      }
    } catch (error) {
      if (signal.aborted || isFinal(error)) return;
      retryAfter = retryAfterOf(error);
    }
    if (signal.aborted) return;
    follower.onLiveness("reconnecting");
    await follower.wait(reconnectDelayMs(failures++, retryAfter), signal);
  }
}

/** A wait that ends early, quietly, when ``signal`` aborts. */
export function abortableWait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
