import { describe, expect, it } from "vitest";
import type { Plan } from "../pricing/plans";
import { checkoutOutcome, planMove } from "./planChange";

function plan(code: string, price_cents: number): Plan {
  const name = code.charAt(0).toUpperCase() + code.slice(1);
  return { code, name, price_cents, currency: "usd", interval: "month", limits: {} };
}

const FREE = plan("free", 0);
const STARTER = plan("starter", 1900);
const PRO = plan("pro", 9900);
const ACTIVE = { plan: "starter", status: "active", cancel_at_period_end: false } as const;

describe("planMove", () => {
  it("goes through Checkout from the free plan", () => {
    expect(planMove(FREE, { plan: "free", status: "active", cancel_at_period_end: false }, STARTER)).toEqual({
      kind: "checkout",
      label: "Upgrade to Starter",
    });
  });

  it("changes a paid subscription up or down, prorated, after a confirmation", () => {
    expect(planMove(STARTER, ACTIVE, PRO)).toMatchObject({ kind: "change", label: "Upgrade to Pro" });
    expect(planMove(PRO, { ...ACTIVE, plan: "pro" }, STARTER)).toMatchObject({
      kind: "change",
      label: "Downgrade to Starter",
      confirm: expect.stringContaining("prorated"),
    });
  });

  it("returns to the free plan at the end of the period", () => {
    expect(planMove(STARTER, ACTIVE, FREE)).toMatchObject({
      kind: "change",
      label: "Downgrade to Free",
      confirm: expect.stringContaining("end of this period"),
    });
  });

  it("offers nothing for the plan in force, unless it is set to end", () => {
    expect(planMove(STARTER, ACTIVE, STARTER)).toBeNull();
    expect(planMove(STARTER, { ...ACTIVE, cancel_at_period_end: true }, STARTER)).toMatchObject({
      kind: "change",
      label: "Keep Starter",
    });
  });
});

describe("checkoutOutcome", () => {
  it("reads Stripe Checkout's return", () => {
    expect(checkoutOutcome("success", null)).toEqual({
      title: "Payment received",
      detail: "Your new plan shows here as soon as Stripe confirms it.",
    });
    expect(checkoutOutcome("success", "Starter")?.detail).toBe("Your team is on Starter now.");
    expect(checkoutOutcome("canceled", null)?.title).toBe("Checkout canceled");
    expect(checkoutOutcome(null, null)).toBeNull();
  });
});
