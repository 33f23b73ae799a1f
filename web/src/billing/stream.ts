// Following GET /billing/stream: its events typed, reconnecting after errors with a growing wait,
// until stopped (the page closed, or the person logged out).
import { serverEvents, type ServerEvent } from "../api/events";
import { ProblemError } from "../api/problem";
import type { Subscription } from "./usage";

/** The CloudEvent an SSE event carries: its ``data`` is what billing published. */
interface CloudEvent<Data> {
  id: string;
  data: Data;
}

export interface UsageThreshold {
  meter: "messages" | "tokens";
  used: number;
  limit: number;
  percent: number;
}

export type BillingEvent =
  | { event: "subscription.changed"; data: Subscription }
  | { event: "invoice.changed"; data: { invoice_id: string; status: string } }
  | { event: "usage.threshold"; data: UsageThreshold }
  | { event: "error"; data: { code: string; message: string } };

const KINDS = new Set(["subscription.changed", "invoice.changed", "usage.threshold"]);

/** The billing event an SSE event carries; null for events this app does not show. */
export function billingEvent(event: ServerEvent): BillingEvent | null {
  if (event.event === "error") return { event: "error", data: JSON.parse(event.data) } as BillingEvent;
  if (!KINDS.has(event.event)) return null;
  const cloudEvent = JSON.parse(event.data) as CloudEvent<unknown>;
  return { event: event.event, data: cloudEvent.data } as BillingEvent;
}

export const FIRST_WAIT_MS = 1_000;
export const LONGEST_WAIT_MS = 30_000;

/** The wait before reconnecting after ``failures`` failed tries in a row (doubling, capped), and
 * never shorter than a Retry-After the gateway asked for. */
export function reconnectDelayMs(failures: number, retryAfterSeconds: number | null = null): number {
  const backoff = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** failures);
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}

export type Liveness = "connecting" | "live" | "reconnecting";

export interface StreamFollower {
  /** Opens the stream (a fresh request with the session's current token). */
  open(signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  onEvent(event: BillingEvent): void;
  onLiveness(liveness: Liveness): void;
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/** A refusal that reconnecting cannot mend: the session is over or the caller may not see billing. */
function isFinal(error: unknown): boolean {
  return error instanceof ProblemError && [401, 403].includes(error.problem.status);
}

function retryAfterOf(error: unknown): number | null {
  return error instanceof ProblemError ? error.problem.retryAfter : null;
}

/** Reads the stream until ``signal`` aborts, opening it again after every end or error. */
export async function followBillingStream(follower: StreamFollower, signal: AbortSignal): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let retryAfter: number | null = null;
    try {
      const body = await follower.open(signal);
      failures = 0;
      follower.onLiveness("live");
      for await (const message of serverEvents(body)) {
        const event = billingEvent(message);
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
