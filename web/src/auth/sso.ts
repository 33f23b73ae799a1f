// Single sign-on on the login page: where a provider's button leads, the reason a sign-in was
// refused (?sso_error=), and the MFA challenge a provider's sign-in ends on (#sso_challenge=).

const MESSAGES: Record<string, string> = {
  sso_provider_unknown: "That sign-in option is not offered any more.",
  sso_return_to_refused: "That sign-in link was not made by this site. Start again from here.",
  sso_state_invalid: "That sign-in expired or was started in another browser. Try again.",
  sso_denied: "The provider did not sign you in.",
  sso_code_refused: "The provider refused the sign-in. Try again.",
  sso_token_invalid: "The provider's answer could not be verified. Try again, or ask your administrator.",
  sso_provider_unavailable: "The sign-in provider cannot be reached right now. Try again later.",
  sso_email_unverified:
    "Your provider has not verified your email address, so it cannot sign you in here. Verify it there, or log in with your password.",
  sso_domain_refused: "Your email domain may not sign in with this provider.",
  sso_no_account: "There is no account for you here yet. Ask your administrator for an invite.",
  sso_signup_closed: "Sign-up is by invitation or approval. Request access first.",
  sso_account_exists: "An account with your email exists, and this provider may not sign in to it. Log in with your password.",
  sso_link_needs_password:
    "Your account has two-factor sign-in, so this provider is not linked to it automatically. Log in with your password and code.",
  account_pending: "Your account is waiting for approval.",
  account_disabled: "This account is disabled.",
  tenant_suspended: "Your team is suspended by the platform's operators. Contact support to have it reactivated.",
};

/** What to tell a person whose single sign-on was refused with ``code``. */
export function ssoErrorMessage(code: string): string {
  return MESSAGES[code] ?? "Single sign-on did not work. Try again, or log in with your password.";
}

/** The start route of ``provider``, coming back to ``next`` (a path of this app). */
export function ssoStartUrl(provider: string, next: string): string {
  return `/api/v1/auth/sso/${encodeURIComponent(provider)}/start?${new URLSearchParams({ return_to: next }).toString()}`;
}

/** The MFA challenge in a location's fragment (``#sso_challenge=<token>``), or null. */
export function ssoChallengeIn(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("sso_challenge");
  return token || null;
}
