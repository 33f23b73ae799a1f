import { describe, expect, it, vi } from "vitest";
import { ProblemError, toProblem } from "../api/problem";
import type { StreamFollower } from "../api/follow";
import { billingEvent, followBillingStream, type BillingEvent } from "./stream";

function body(text: string): ReadableStream<Uint8Array> {
  return new Response(text).body as ReadableStream<Uint8Array>;
}

const SUBSCRIPTION_CHANGED =
  'event: subscription.changed\nid: evt_1\ndata: {"id":"evt_1","data":{"plan":"starter","status":"active"}}\n\n';

function refusal(status: number, retryAfter?: string): ProblemError {
  const headers = retryAfter ? { "Retry-After": retryAfter } : undefined;
  return new ProblemError(toProblem({ status, detail: "no" }, new Response(null, { status, headers })));
}

/** A follower whose opens answer from ``answers`` in turn; stops the stream when they run out. */
function follower(answers: Array<() => ReadableStream<Uint8Array>>, stop: AbortController) {
  const events: BillingEvent[] = [];
  const waits: number[] = [];
  const liveness: string[] = [];
  const follow: StreamFollower<BillingEvent> = {
    open: vi.fn(async () => {
      const next = answers.shift();
      if (!next) {
        stop.abort();
        throw new DOMException("aborted", "AbortError");
      }
      return next();
    }),
    onEvent: (event) => events.push(event),
    onLiveness: (state) => liveness.push(state),
    wait: async (ms) => {
      waits.push(ms);
    },
  };
  return { follow, events, waits, liveness };
}

describe("billingEvent", () => {
  it("unwraps the CloudEvent of a known event, skips unknown ones", () => {
    expect(billingEvent({ event: "subscription.changed", id: "e", data: '{"data":{"plan":"pro"}}' })).toEqual({
      event: "subscription.changed",
      data: { plan: "pro" },
    });
    expect(billingEvent({ event: "entitlements.updated", id: "e", data: '{"data":{"entitlements":{"features":["chat"]}}}' })).toEqual({
      event: "entitlements.updated",
      data: { entitlements: { features: ["chat"] } },
    });
    expect(billingEvent({ event: "customer.updated", id: "e", data: "{}" })).toBeNull();
    expect(billingEvent({ event: "error", id: undefined, data: '{"code":"token_expired","message":"m"}' })).toEqual({
      event: "error",
      data: { code: "token_expired", message: "m" },
    });
  });
});

describe("followBillingStream", () => {
  it("passes events on and opens the stream again after it ends", async () => {
    const stop = new AbortController();
    const { follow, events, waits, liveness } = follower([() => body(SUBSCRIPTION_CHANGED), () => body("")], stop);
    await followBillingStream(follow, stop.signal);
    expect(events).toEqual([{ event: "subscription.changed", data: { plan: "starter", status: "active" } }]);
    expect(follow.open).toHaveBeenCalledTimes(3);
    expect(waits).toEqual([1_000, 1_000]);
    expect(liveness).toEqual(["live", "reconnecting", "live", "reconnecting"]);
  });

  it("waits longer after each failure in a row, and as long as the gateway asks", async () => {
    const stop = new AbortController();
    const failing = () => {
      throw refusal(503);
    };
    const { follow, waits } = follower(
      [
        failing,
        failing,
        () => {
          throw refusal(429, "20");
        },
        () => body(""),
        failing,
      ],
      stop,
    );
    await followBillingStream(follow, stop.signal);
    expect(waits).toEqual([1_000, 2_000, 20_000, 1_000, 2_000]);
  });

  it("stops for good when the session is over", async () => {
    const stop = new AbortController();
    const { follow, waits } = follower(
      [
        () => {
          throw refusal(401);
        },
      ],
      stop,
    );
    await followBillingStream(follow, stop.signal);
    expect(follow.open).toHaveBeenCalledTimes(1);
    expect(waits).toEqual([]);
    expect(stop.signal.aborted).toBe(false);
  });

  it("stops when told to (logout, the page left)", async () => {
    const stop = new AbortController();
    stop.abort();
    const { follow } = follower([() => body(SUBSCRIPTION_CHANGED)], stop);
    await followBillingStream(follow, stop.signal);
    expect(follow.open).not.toHaveBeenCalled();
  });
});
