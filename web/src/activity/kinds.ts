// The feed's kinds of item in people's words, in the order its filter offers them.

const KIND_WORDS: Record<string, string> = {
  "member.changed": "Members joined, left or changed role",
  "user.registered": "Accounts created",
  "session.revoked": "Sessions ended",
  "user.profile_changed": "Profiles changed",
  "conversation.deleted": "Conversations deleted",
  "tenant.created": "Workspace created",
  "tenant.updated": "Workspace renamed",
  "tenant.settings_changed": "Workspace settings changed",
  "tenant.suspended": "Workspace suspended",
  "tenant.reactivated": "Workspace reactivated",
  "subscription.changed": "Plan changes",
  "invoice.changed": "Invoices",
  "usage.threshold": "Usage alerts",
};

/** The kinds the filter offers. */
export const FILTER_KINDS: string[] = Object.keys(KIND_WORDS);

/** A kind in people's words; an unknown kind as the server names it. */
export function kindName(kind: string): string {
  return KIND_WORDS[kind] ?? kind;
}
