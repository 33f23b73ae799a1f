import { describe, expect, it } from "vitest";
import { confirmsName, progressSummary, type DataPart } from "./deprovisionProgress";

const part = (service: string, status: DataPart["status"]): DataPart => ({ service, status });

describe("progressSummary", () => {
  it("counts the services that have deleted their part", () => {
    const parts = [part("auth", "deleted"), part("billing", "deleted"), part("chat", "pending"), part("activity", "pending")];
    expect(progressSummary(parts)).toBe("2 of 4 services have deleted their data");
    expect(progressSummary([part("auth", "pending")])).toBe("0 of 1 service has deleted its data");
  });
});

describe("confirmsName", () => {
  it("asks for the tenant's name exactly, surrounding spaces aside", () => {
    expect(confirmsName(" Acme Labs ", "Acme Labs")).toBe(true);
    expect(confirmsName("acme labs", "Acme Labs")).toBe(false);
    expect(confirmsName("", "")).toBe(false);
  });
});
