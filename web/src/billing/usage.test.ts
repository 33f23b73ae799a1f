import { describe, expect, it } from "vitest";
import { money, periodWords, readMeter, statusWords } from "./usage";

describe("readMeter", () => {
  it("reads usage against the limit as a share and in words", () => {
    expect(readMeter({ meter: "messages", used: 12, limit: 100 })).toEqual({
      name: "Messages",
      percent: 12,
      text: "12 of 100 messages used (12%)",
    });
  });

  it("caps the share at 100 and counts a limit of 0 as full", () => {
    expect(readMeter({ meter: "tokens", used: 250, limit: 200 }).percent).toBe(100);
    expect(readMeter({ meter: "tokens", used: 0, limit: 0 }).percent).toBe(100);
  });

  it("has no share without a limit", () => {
    expect(readMeter({ meter: "tokens", used: 5, limit: null })).toEqual({
      name: "Tokens",
      percent: null,
      text: "5 tokens used, no limit",
    });
  });
});

describe("subscription words", () => {
  it("names the status and what the period's end brings", () => {
    expect(statusWords("past_due")).toBe("Payment overdue");
    const end = "2026-12-31T12:00:00Z";
    const date = new Date(end).toLocaleDateString();
    const starter = { plan: "starter", status: "active", current_period_end: end, cancel_at_period_end: false } as const;
    expect(periodWords(starter)).toBe(`Renews on ${date}`);
    expect(periodWords({ ...starter, cancel_at_period_end: true })).toBe(`Ends on ${date}`);
    expect(periodWords({ plan: "free", status: "active", cancel_at_period_end: false })).toBeNull();
  });

  it("shows minor units as money", () => {
    expect(money(1900, "usd")).toBe(new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" }).format(19));
  });
});
