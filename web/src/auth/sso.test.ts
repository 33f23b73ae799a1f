import { describe, expect, it } from "vitest";
import { ssoChallengeIn, ssoErrorMessage, ssoStartUrl } from "./sso";

describe("ssoStartUrl", () => {
  it("leads to the provider's start route, coming back to the page", () => {
    expect(ssoStartUrl("okta", "/app/chat?c=1")).toBe("/api/v1/auth/sso/okta/start?return_to=%2Fapp%2Fchat%3Fc%3D1");
  });
});

describe("ssoErrorMessage", () => {
  it("words each refusal", () => {
    expect(ssoErrorMessage("sso_email_unverified")).toMatch(/not verified your email/);
    expect(ssoErrorMessage("sso_state_invalid")).toMatch(/another browser/);
  });

  it("has a fallback for a reason it does not know", () => {
    expect(ssoErrorMessage("service_unavailable")).toMatch(/did not work/);
  });
});

describe("ssoChallengeIn", () => {
  it("reads the challenge a provider's sign-in ends on", () => {
    expect(ssoChallengeIn("#sso_challenge=mfa_abc%20d")).toBe("mfa_abc d");
  });

  it("finds none elsewhere", () => {
    expect(ssoChallengeIn("")).toBeNull();
    expect(ssoChallengeIn("#other=1")).toBeNull();
    expect(ssoChallengeIn("#sso_challenge=")).toBeNull();
  });
});
