import { describe, expect, it } from "vitest";
import { errorWithin, FLAGS_MAX_BYTES, filledContacts, flagsText, parseFlags } from "./tenantSettings";

describe("parseFlags", () => {
  it("reads an empty text as no flags", () => {
    expect(parseFlags("  ")).toEqual({ ok: true, flags: {} });
  });

  it("keeps a JSON object", () => {
    expect(parseFlags('{"beta": true, "limits": {"agents": 3}}')).toEqual({
      ok: true,
      flags: { beta: true, limits: { agents: 3 } },
    });
  });

  it("refuses broken JSON, arrays and plain values", () => {
    for (const text of ["{beta", "[1, 2]", "42", "null", '"text"']) {
      expect(parseFlags(text).ok, text).toBe(false);
    }
  });

  it("refuses flags above the server's cap, counted in bytes", () => {
    const big = JSON.stringify({ blob: "é".repeat(FLAGS_MAX_BYTES / 2) });
    const result = parseFlags(big);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(`${FLAGS_MAX_BYTES}`);
  });
});

describe("flagsText", () => {
  it("shows no flags as an empty text and others as indented JSON", () => {
    expect(flagsText({})).toBe("");
    expect(flagsText({ beta: true })).toBe('{\n  "beta": true\n}');
  });
});

describe("filledContacts", () => {
  it("trims the rows and drops the empty ones", () => {
    expect(
      filledContacts([
        { name: " Ada ", email: "ada@example.com ", role: "security" },
        { name: "", email: "", role: "" },
      ]),
    ).toEqual([{ name: "Ada", email: "ada@example.com", role: "security" }]);
  });
});

describe("errorWithin", () => {
  it("finds the error of the field or of one of its items", () => {
    expect(errorWithin({ webhook_events: "Too many." }, "webhook_events")).toBe("Too many.");
    expect(errorWithin({ "webhook_events.2": "Unknown kind." }, "webhook_events")).toBe("Unknown kind.");
    expect(errorWithin({ webhook_url: "Not public." }, "webhook_events")).toBeUndefined();
    expect(errorWithin({ webhook_events_x: "Other." }, "webhook_events")).toBeUndefined();
  });
});
