import { describe, expect, it } from "vitest";
import { loginFor, safeNext } from "./next";

describe("safeNext", () => {
  it("goes back to a path of this app", () => {
    expect(safeNext("/chat/c_1?q=x")).toBe("/chat/c_1?q=x");
  });

  it("never to another site", () => {
    for (const next of ["https://evil.example", "//evil.example", "/\\evil.example", "", null]) {
      expect(safeNext(next)).toBe("/app");
    }
  });

  it("round-trips through the login address", () => {
    const next = new URL(loginFor("/billing?tab=invoices"), "http://x").searchParams.get("next");
    expect(safeNext(next)).toBe("/billing?tab=invoices");
  });
});
