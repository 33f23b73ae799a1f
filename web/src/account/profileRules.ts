// The rules the self-service profile's forms follow: what a profile form changes, which consents
// are due, which notification choice is locked, and the names shown for kinds, channels, documents.
import type { components } from "../api/schema";

export type Profile = components["schemas"]["ProfileView"];
export type ProfileUpdate = components["schemas"]["ProfileUpdate"];
export type Consents = components["schemas"]["Consents"];
export type ConsentsAccept = components["schemas"]["ConsentsAccept"];
export type NotificationPreferences = components["schemas"]["NotificationPreferences"];
export type NotificationKind = keyof NotificationPreferences;
export type NotificationChannel = keyof NotificationPreferences[NotificationKind];

export const PROFILE_FIELDS = ["display_name", "given_name", "family_name", "avatar_url", "timezone", "locale"] as const;

export const NOTIFICATION_KINDS: { kind: NotificationKind; label: string }[] = [
  { kind: "security", label: "Security" },
  { kind: "billing", label: "Billing" },
  { kind: "product", label: "Product news" },
  { kind: "incidents", label: "Incidents" },
];

export const NOTIFICATION_CHANNELS: { channel: NotificationChannel; label: string }[] = [
  { channel: "email", label: "Email" },
  { channel: "in_app", label: "In the app" },
];

export const DOCUMENT_NAMES: Record<string, string> = { terms: "Terms of service", privacy: "Privacy notice" };

/** The fields a submitted profile form changes: an emptied field clears it (null), an unchanged one is left out. */
export function profileChanges(values: Record<string, string>, current: Profile): ProfileUpdate {
  const changes: Record<string, string | null> = {};
  for (const name of PROFILE_FIELDS) {
    if (!(name in values)) continue;
    const value = (values[name] ?? "").trim() || null;
    if (value !== (current[name] ?? null)) changes[name] = value;
  }
  return changes;
}

/** The versions to accept for every document still due (nothing when none is). */
export function dueVersions(consents: Consents): ConsentsAccept | null {
  const due = consents.items.filter((item) => item.due);
  if (due.length === 0) return null;
  const accept: ConsentsAccept = {};
  for (const item of due) {
    if (item.document === "terms") accept.terms_version = item.required_version;
    else accept.privacy_version = item.required_version;
  }
  return accept;
}

/** Security mail cannot be turned off: the one choice the person cannot change. */
export function isLocked(kind: NotificationKind, channel: NotificationChannel): boolean {
  return kind === "security" && channel === "email";
}

/** ``preferences`` with one choice changed (a locked one stays as it is). */
export function withChoice(
  preferences: NotificationPreferences,
  kind: NotificationKind,
  channel: NotificationChannel,
  on: boolean,
): NotificationPreferences {
  if (isLocked(kind, channel)) return preferences;
  return { ...preferences, [kind]: { ...preferences[kind], [channel]: on } };
}

/** Recovery codes as text to copy: one a line. */
export function codesAsText(codes: string[]): string {
  return codes.join("\n") + "\n";
}

/** Whether the consent step stands before the page at ``pathname``: the Account page stays open
 * (someone who does not accept can still change preferences or disable the account). */
export function consentStepBefore(pathname: string, consentsDue: boolean): boolean {
  return consentsDue && pathname.replace(/\/+$/, "") !== "/account";
}
