import { describe, expect, it } from "vitest";
import { choiceOf, FEATURES, hasFeature, inForce, overridesFrom, type TenantFeatures } from "./features";

const FREE: TenantFeatures = {
  tenant_id: "t_1",
  plan: "free",
  plan_features: ["chat", "service_accounts"],
  overrides: { service_accounts: false },
  features: ["chat"],
};

describe("features", () => {
  it("lists every feature of the registry", () => {
    expect(FEATURES).toEqual(["chat", "tools", "priority_support", "service_accounts", "research_agent"]);
  });

  it("tells whether the tenant has a feature, leaving unknown ones to the server", () => {
    expect(hasFeature(FREE, "chat")).toBe(true);
    expect(hasFeature(FREE, "service_accounts")).toBe(false);
    expect(hasFeature(undefined, "research_agent")).toBe(true);
  });

  it("reads an operator's choice from the overrides", () => {
    expect(choiceOf(FREE.overrides, "service_accounts")).toBe("off");
    expect(choiceOf({ research_agent: true }, "research_agent")).toBe("on");
    expect(choiceOf(FREE.overrides, "chat")).toBe("plan");
    expect(choiceOf(undefined, "chat")).toBe("plan");
  });

  it("saves only the features forced on or off", () => {
    expect(overridesFrom({ chat: "plan", service_accounts: "off", research_agent: "on" })).toEqual({
      service_accounts: false,
      research_agent: true,
    });
    expect(overridesFrom({})).toEqual({});
  });

  it("puts a feature in force by the plan unless forced", () => {
    expect(inForce("plan", true)).toBe(true);
    expect(inForce("plan", false)).toBe(false);
    expect(inForce("on", false)).toBe(true);
    expect(inForce("off", true)).toBe(false);
  });
});
