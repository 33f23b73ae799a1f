// Service accounts as the API allows them: managed with `service_accounts:manage` (owners and
// admins), given a subset of their creator's scopes and never `platform:operate`.
import type { components } from "../api/schema";

export type ServiceAccount = components["schemas"]["ServiceAccountView"];
export type CreatedServiceAccount = components["schemas"]["ServiceAccountCreated"];

export const MANAGE_SCOPE = "service_accounts:manage";
const NEVER_GRANTED = new Set(["platform:operate"]);

const SCOPE_WORDS: Record<string, string> = {
  "conversations:read": "Read conversations",
  "conversations:write": "Chat and write conversations",
  "conversations:delete": "Delete conversations",
  "billing:read": "See billing",
  "billing:manage": "Manage billing",
  "members:read": "See members",
  "members:manage": "Manage members",
  "service_accounts:manage": "Manage service accounts",
  "tenant:read": "See the team",
};

export const NOT_YOURS = "Only the team's owners and admins create and revoke service accounts.";

/** Whether a person holding ``scopes`` lists, creates and revokes the team's service accounts. */
export function managesServiceAccounts(scopes: readonly string[]): boolean {
  return scopes.includes(MANAGE_SCOPE);
}

/** The scopes a person holding ``scopes`` may give a service account, in a stable order. */
export function grantableScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)].filter((scope) => !NEVER_GRANTED.has(scope)).sort();
}

/** A scope in words ("Read conversations"), or the scope itself when it has none. */
export function scopeWords(scope: string): string {
  return SCOPE_WORDS[scope] ?? scope;
}

/** The ticked scopes of the create form that the person may give. */
export function chosenScopes(ticked: readonly FormDataEntryValue[], grantable: readonly string[]): string[] {
  return ticked.filter((value): value is string => typeof value === "string" && grantable.includes(value));
}

/** "Active" or "Revoked <when>", as the list shows it. */
export function accountStatus(account: ServiceAccount, when: (iso: string) => string): string {
  return account.revoked_at ? `Revoked ${when(account.revoked_at)}` : "Active";
}
