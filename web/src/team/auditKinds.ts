// The audit log's kinds of event in people's words, and the ones its filter offers.

const KIND_WORDS: Record<string, string> = {
  "login.succeeded": "Signed in",
  "login.failed": "Sign-in failed",
  "login.refused": "Sign-in refused",
  "account.locked": "Account locked",
  "mfa.challenged": "Asked for a second factor",
  "mfa.failed": "Second factor failed",
  "mfa.enabled": "Two-factor turned on",
  "mfa.disabled": "Two-factor turned off",
  "mfa.recovery_code_used": "Recovery code used",
  "mfa.recovery_codes_regenerated": "Recovery codes replaced",
  "password.changed": "Password changed",
  "password.reset_requested": "Password reset requested",
  "password.reset": "Password reset",
  "support.password_reset": "Password reset by an admin",
  "session.revoked": "Session ended",
  "refresh.reuse_detected": "Stolen session stopped",
  "email.verified": "Email verified",
  "email.changed": "Email changed",
  "user.registered": "Account created",
  "member.changed": "Role changed",
  "invite.created": "Invite sent",
  "invite.accepted": "Invite accepted",
  "invite.revoked": "Invite revoked",
  "tenant.updated": "Team renamed",
  "tenant.settings_changed": "Settings changed",
  "service_account.created": "Service account created",
  "service_account.revoked": "Service account revoked",
  "sso.linked": "Single sign-on linked",
  "sso.login": "Signed in with single sign-on",
  "sso.refused": "Single sign-on refused",
  "sso.mfa_challenged": "Single sign-on asked for a second factor",
  "signup.invite_used": "Joined with a signup invite",
  "consents.accepted": "Terms accepted",
  "email.change_requested": "Email change requested",
  "sso.unlinked": "Single sign-on unlinked",
  "account.disabled": "Account disabled",
  "mfa.removed_by_operator": "Two-factor removed by support",
};

/** The kinds the filter offers, in the order people look for them. */
export const FILTER_KINDS: string[] = [
  "login.succeeded",
  "login.failed",
  "mfa.enabled",
  "mfa.disabled",
  "password.changed",
  "password.reset",
  "support.password_reset",
  "member.changed",
  "invite.created",
  "invite.accepted",
  "invite.revoked",
  "tenant.updated",
  "tenant.settings_changed",
  "session.revoked",
  "sso.linked",
];

/** A kind in people's words; an unknown kind as the server names it. */
export function kindName(kind: string): string {
  return KIND_WORDS[kind] ?? kind;
}

/** What the log says when it has no entries: of any kind (`""`), or of the kind chosen. */
export function noEventsTitle(kind: string): string {
  return kind === "" ? "No events yet." : "No events of this kind yet.";
}
