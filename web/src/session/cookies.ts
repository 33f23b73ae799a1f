// The browser-session cookie mode of the auth routes: the header that asks for it and the CSRF proof.

/** Sent on auth calls: the gateway then keeps the refresh token in an HttpOnly cookie. */
export const SESSION_MODE_HEADER = "X-Agentbus-Session";
export const SESSION_MODE = "cookie";
/** The header that carries the CSRF proof, copied from the readable cookie of the same name. */
export const CSRF_HEADER = "X-CSRF-Token";
export const CSRF_COOKIE = "agentbus_csrf";
/** Its name over HTTPS: ``__Host-`` keeps sibling sites from setting it. */
export const SECURE_CSRF_COOKIE = `__Host-${CSRF_COOKIE}`;

/** The value of cookie ``name`` in ``cookies`` (``document.cookie``), or null. */
export function readCookie(cookies: string, name: string): string | null {
  for (const pair of cookies.split(";")) {
    const [key, ...value] = pair.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

/** The CSRF proof the gateway set beside the refresh cookie, or null when there is no session. */
export function csrfProof(cookies: string): string | null {
  return readCookie(cookies, SECURE_CSRF_COOKIE) ?? readCookie(cookies, CSRF_COOKIE);
}

/** The headers every API call carries: cookie mode, and the CSRF proof when there is one. */
export function sessionHeaders(cookies: string): Record<string, string> {
  const csrf = csrfProof(cookies);
  return { [SESSION_MODE_HEADER]: SESSION_MODE, ...(csrf ? { [CSRF_HEADER]: csrf } : {}) };
}
