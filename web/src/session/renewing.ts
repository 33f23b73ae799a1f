// A refused access token is renewed once and the request sent again; only a failed renewal ends
// the session. Other 401s (a wrong password or TOTP code) are answers for the page, not a logout.

/** The problem codes of a 401 that mean the access token itself was refused (missing, invalid,
 * expired or revoked), as the gateway answers them; auth's credential errors have their own. */
export const TOKEN_REFUSED = new Set(["invalid_token", "unauthorized"]);

/** The call that renews the session: its own 401 is never answered with another renewal. */
const RENEWAL_PATH = "/api/v1/auth/refresh";

export interface RenewableSession {
  /** Renews the access token (ending the session when that fails); true when renewed. */
  renew(): Promise<boolean>;
}

/** Puts the current session's headers (bearer token, CSRF proof) on a request, replacing old ones. */
export type Sign = (request: Request) => void;

/** True when ``response`` refuses the request's access token (not its credentials or codes). */
export async function refusesToken(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const problem: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  const code = typeof problem === "object" && problem !== null ? (problem as { code?: unknown }).code : undefined;
  return typeof code === "string" && TOKEN_REFUSED.has(code);
}

/** ``fetchImpl`` that, when the access token is refused, renews the session once and resends the
 * request signed anew; the first answer stands when the renewal fails. */
export function renewingFetch(session: RenewableSession, sign: Sign, fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const again = request.clone();
    const response = await fetchImpl(request);
    if (new URL(request.url).pathname === RENEWAL_PATH || !(await refusesToken(response))) return response;
    if (!(await session.renew())) return response;
    sign(again);
    return fetchImpl(again);
  };
}
