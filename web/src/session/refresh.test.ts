import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { csrfProof, readCookie, sessionHeaders } from "./cookies";
import { RefreshSchedule, refreshDelayMs, singleFlight, type Timers } from "./refresh";

const timers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms) as unknown as number,
  clear: (handle) => clearTimeout(handle),
};

describe("refreshDelayMs", () => {
  it("renews a minute before expiry", () => {
    expect(refreshDelayMs(900)).toBe(840_000);
  });

  it("never before half the token's life", () => {
    expect(refreshDelayMs(60)).toBe(30_000);
  });
});

describe("RefreshSchedule", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("renews before expiry, again after each renewal, and stops when the session is over", async () => {
    const lifetimes = [900, null];
    const renew = vi.fn(async () => lifetimes.shift() ?? null);
    const schedule = new RefreshSchedule(renew, timers);
    schedule.plan(900);
    await vi.advanceTimersByTimeAsync(839_000);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(840_000);
    expect(renew).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(renew).toHaveBeenCalledTimes(2);
  });

  it("a failed renewal ends the plan", async () => {
    const renew = vi.fn(async (): Promise<number | null> => {
      throw new Error("offline");
    });
    const schedule = new RefreshSchedule(renew, timers);
    schedule.plan(120);
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(renew).toHaveBeenCalledTimes(1);
  });

  it("cancel (logout) stops it", async () => {
    const renew = vi.fn(async () => 900);
    const schedule = new RefreshSchedule(renew, timers);
    schedule.plan(900);
    schedule.cancel();
    await vi.advanceTimersByTimeAsync(10_000_000);
    expect(renew).not.toHaveBeenCalled();
  });
});

describe("singleFlight", () => {
  it("concurrent callers share one refresh, a later caller starts another", async () => {
    let runs = 0;
    const refresh = singleFlight(async () => ++runs);
    expect(await Promise.all([refresh(), refresh(), refresh()])).toEqual([1, 1, 1]);
    expect(await refresh()).toBe(2);
  });
});

describe("session cookies", () => {
  it("reads the CSRF cookie into the header and always asks for cookie mode", () => {
    expect(readCookie("a=1; agentbus_csrf=x%3Dy", "agentbus_csrf")).toBe("x=y");
    expect(sessionHeaders("agentbus_csrf=abc")).toEqual({ "X-Agentbus-Session": "cookie", "X-CSRF-Token": "abc" });
    expect(sessionHeaders("")).toEqual({ "X-Agentbus-Session": "cookie" });
  });

  it("over HTTPS the proof is in the __Host- cookie", () => {
    expect(csrfProof("__Host-agentbus_csrf=abc")).toBe("abc");
    expect(sessionHeaders("a=1; __Host-agentbus_csrf=abc")).toEqual({
      "X-Agentbus-Session": "cookie",
      "X-CSRF-Token": "abc",
    });
    expect(csrfProof("a=1")).toBeNull();
  });
});
