// GET /billing/stream's events typed, followed like every stream (api/follow.ts).
import type { ServerEvent } from "../api/events";
import { followStream, type StreamFollower } from "../api/follow";
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
  | { event: "entitlements.updated"; data: { entitlements: { features: string[] } } }
  | { event: "error"; data: { code: string; message: string } };

const KINDS = new Set(["subscription.changed", "invoice.changed", "usage.threshold", "entitlements.updated"]);

/** The billing event an SSE event carries; null for events this app does not show. */
export function billingEvent(event: ServerEvent): BillingEvent | null {
  if (event.event === "error") return { event: "error", data: JSON.parse(event.data) } as BillingEvent;
  if (!KINDS.has(event.event)) return null;
  const cloudEvent = JSON.parse(event.data) as CloudEvent<unknown>;
  return { event: event.event, data: cloudEvent.data } as BillingEvent;
}

/** Reads the billing stream until ``signal`` aborts (see followStream). */
export function followBillingStream(follower: StreamFollower<BillingEvent>, signal: AbortSignal): Promise<void> {
  return followStream(follower, billingEvent, signal);
}
