// The browser-session cookie mode of the auth routes: the header that asks for it and the CSRF proof.

/** Sent on auth calls: the gateway then keeps the refresh token in an HttpOnly cookie. */
export const SESSION_MODE_HEADER = "X-Agentbus-Session";
export const SESSION_MODE = "cookie";
/** The header that carries the CSRF proof, copied from the readable cookie of the same name. */
export const CSRF_HEADER = "X-CSRF-Token";
export const CSRF_COOKIE = "agentbus_csrf";

/** The value of cookie ``name`` in ``cookies`` (``document.cookie``), or null. */
export function readCookie(cookies: string, name: string): string | null {
  for (const pair of cookies.split(";")) {
    const [key, ...value] = pair.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

/** The headers every API call carries: cookie mode, and the CSRF proof when there is one. */
export function sessionHeaders(cookies: string): Record<string, string> {
  const csrf = readCookie(cookies, CSRF_COOKIE);
  return { [SESSION_MODE_HEADER]: SESSION_MODE, ...(csrf ? { [CSRF_HEADER]: csrf } : {}) };
}
