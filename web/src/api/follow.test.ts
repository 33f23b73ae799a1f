import { describe, expect, it } from "vitest";
import { reconnectDelayMs } from "./follow";

describe("reconnectDelayMs", () => {
  it("doubles from a second up to half a minute, and honours Retry-After", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((failures) => reconnectDelayMs(failures))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    expect(reconnectDelayMs(0, 10)).toBe(10_000);
  });
});
