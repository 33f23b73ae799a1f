import { describe, expect, it } from "vitest";
import { loginFor, safeNext } from "./next";

const ORIGIN = "https://agentbus.example";

describe("safeNext", () => {
  it("goes back to a path of this app", () => {
    expect(safeNext("/chat/c_1?q=x#end", ORIGIN)).toBe("/chat/c_1?q=x#end");
  });

  it("never to another site", () => {
    const elsewhere = [
      "https://evil.example",
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "/\r\n/evil.example",
      "\t//evil.example",
      "/\\\\evil.example",
      "/\t\\evil.example",
      "javascript:alert(1)",
      "",
      null,
    ];
    for (const next of elsewhere) {
      expect(safeNext(next, ORIGIN), JSON.stringify(next)).toBe("/app");
    }
  });

  it("answers the path as the browser parses it, not the raw text", () => {
    expect(safeNext("/chat/\tc_1", ORIGIN)).toBe("/chat/c_1");
    expect(safeNext("/a/../billing", ORIGIN)).toBe("/billing");
  });

  it("round-trips through the login address", () => {
    const next = new URL(loginFor("/billing?tab=invoices"), "http://x").searchParams.get("next");
    expect(safeNext(next, ORIGIN)).toBe("/billing?tab=invoices");
  });
});
