import { describe, expect, it } from "vitest";
import { noEventsTitle } from "./auditKinds";

describe("noEventsTitle", () => {
  it("speaks of a kind only when one is chosen", () => {
    expect(noEventsTitle("")).toBe("No events yet.");
    expect(noEventsTitle("login.failed")).toBe("No events of this kind yet.");
  });
});
