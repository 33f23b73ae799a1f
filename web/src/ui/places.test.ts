import { describe, expect, it } from "vitest";
import { placeName } from "./places";

describe("placeName", () => {
  it("names the city before the country, or what is known, or a dash", () => {
    expect(placeName("AU", "Sydney")).toBe("Sydney, AU");
    expect(placeName("AU", null)).toBe("AU");
    expect(placeName(null, undefined)).toBe("—");
  });
});
