import { describe, expect, it } from "vitest";
import { featureName, price } from "./plans";

const plan = { code: "pro", name: "Pro", currency: "usd", interval: "month", limits: {} } as const;

describe("pricing", () => {
  it("shows a plan's price per interval, and free as Free", () => {
    expect(price({ ...plan, price_cents: 1900 })).toMatch(/19\.00.*\/ month/);
    expect(price({ ...plan, price_cents: 0 })).toBe("Free");
  });

  it("names features in words", () => {
    expect(featureName("priority_support")).toBe("Priority support");
  });
});
