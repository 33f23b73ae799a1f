import { describe, expect, it } from "vitest";
import { codesAsText, consentStepBefore, dueVersions, isLocked, profileChanges, withChoice, type Consents, type NotificationPreferences, type Profile } from "./profileRules";

const profile: Profile = {
  id: "usr_1",
  email: "ada@example.com",
  email_verified: true,
  display_name: "Ada",
  given_name: null,
  family_name: "Lovelace",
  avatar_url: null,
  timezone: "Europe/London",
  locale: null,
  consents_due: false,
};

const preferences: NotificationPreferences = {
  security: { email: true, in_app: true },
  billing: { email: true, in_app: true },
  product: { email: false, in_app: true },
  incidents: { email: true, in_app: true },
};

describe("profileChanges", () => {
  it("sends only the fields that changed, trimmed", () => {
    const values = { display_name: "Ada", given_name: " Ada ", family_name: "Lovelace", timezone: "Europe/London" };
    expect(profileChanges(values, profile)).toEqual({ given_name: "Ada" });
  });

  it("clears an emptied field with null and leaves fields not on the form alone", () => {
    expect(profileChanges({ family_name: "  ", locale: "" }, profile)).toEqual({ family_name: null });
  });
});

describe("dueVersions", () => {
  const consents = (termsDue: boolean, privacyDue: boolean): Consents => ({
    due: termsDue || privacyDue,
    items: [
      { document: "terms", required_version: "2026-12-01", accepted_version: null, accepted_at: null, due: termsDue },
      { document: "privacy", required_version: "2026-11-01", accepted_version: "2026-11-01", accepted_at: null, due: privacyDue },
    ],
  });

  it("accepts the required version of each document still due", () => {
    expect(dueVersions(consents(true, false))).toEqual({ terms_version: "2026-12-01" });
    expect(dueVersions(consents(true, true))).toEqual({ terms_version: "2026-12-01", privacy_version: "2026-11-01" });
  });

  it("has nothing to accept when nothing is due", () => {
    expect(dueVersions(consents(false, false))).toBeNull();
  });
});

describe("notification choices", () => {
  it("locks security mail only", () => {
    expect(isLocked("security", "email")).toBe(true);
    expect(isLocked("security", "in_app")).toBe(false);
    expect(isLocked("billing", "email")).toBe(false);
  });

  it("changes one choice and never the locked one", () => {
    expect(withChoice(preferences, "billing", "email", false).billing).toEqual({ email: false, in_app: true });
    expect(withChoice(preferences, "security", "email", false)).toBe(preferences);
  });
});

it("copies recovery codes one a line", () => {
  expect(codesAsText(["a-b", "c-d"])).toBe("a-b\nc-d\n");
});

describe("consentStepBefore", () => {
  it("stands before every page while consents are due, but the Account page", () => {
    expect(consentStepBefore("/chat", true)).toBe(true);
    expect(consentStepBefore("/team", true)).toBe(true);
    expect(consentStepBefore("/account", true)).toBe(false);
    expect(consentStepBefore("/account/", true)).toBe(false);
    expect(consentStepBefore("/accounting", true)).toBe(true);
  });

  it("is gone once nothing is due", () => {
    expect(consentStepBefore("/chat", false)).toBe(false);
  });
});
