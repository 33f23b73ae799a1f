// The tenant's settings as the form edits them: flags typed as JSON, contacts as rows, webhook kinds.
import type { components } from "../api/schema";

export type TenantSettings = components["schemas"]["TenantSettings"];
export type Contact = components["schemas"]["Contact"];
export type WebhookKind = NonNullable<TenantSettings["webhook_events"]>[number];

/** The largest flags object the server keeps, in bytes of compact JSON. */
export const FLAGS_MAX_BYTES = 8 * 1024;

export const WEBHOOK_KINDS: { kind: WebhookKind; label: string }[] = [
  { kind: "member.changed", label: "Members joined, left or changed role" },
  { kind: "tenant.updated", label: "Team renamed" },
  { kind: "tenant.settings_changed", label: "Settings changed" },
  { kind: "conversation.deleted", label: "Conversation deleted" },
  { kind: "subscription.changed", label: "Subscription changed" },
  { kind: "invoice.changed", label: "Invoice issued or paid" },
  { kind: "usage.threshold", label: "Usage threshold reached" },
];

export type FlagsResult = { ok: true; flags: Record<string, unknown> } | { ok: false; message: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The flags typed in the text area: empty means none; anything but a JSON object is refused. */
export function parseFlags(text: string): FlagsResult {
  if (text.trim() === "") return { ok: true, flags: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: "Flags must be valid JSON, e.g. {\"beta\": true}." };
  }
  if (!isPlainObject(value)) return { ok: false, message: "Flags must be a JSON object: { … }." };
  const size = new TextEncoder().encode(JSON.stringify(value)).length;
  if (size > FLAGS_MAX_BYTES) {
    return { ok: false, message: `Flags take ${size} bytes; at most ${FLAGS_MAX_BYTES} are kept.` };
  }
  return { ok: true, flags: value };
}

/** The flags as the text area shows them. */
export function flagsText(flags: Record<string, unknown> | undefined): string {
  return flags && Object.keys(flags).length > 0 ? JSON.stringify(flags, null, 2) : "";
}

/** The contact rows worth sending: rows left entirely empty are dropped. */
export function filledContacts(rows: Contact[]): Contact[] {
  return rows
    .map((row) => ({ name: row.name.trim(), email: row.email.trim(), role: (row.role ?? "").trim() }))
    .filter((row) => row.name !== "" || row.email !== "" || row.role !== "");
}

/** The error of ``field`` or of any part of it (``webhook_events.2``), for a control grouping them. */
export function errorWithin(errors: Record<string, string>, field: string): string | undefined {
  const key = Object.keys(errors).find((name) => name === field || name.startsWith(`${field}.`));
  return key === undefined ? undefined : errors[key];
}
