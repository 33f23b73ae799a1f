// The app's one API client: signed with the session, renewing it from the refresh cookie when the
// access token is refused, and ending it when that fails (the router then sends the person to log in).
import { createApi, requestHeaders } from "../api/client";
import { csrfProof } from "../session/cookies";
import { renewingFetch } from "../session/renewing";
import { session } from "../session/session";
import { watchingSuspension } from "../session/suspension";

/** Signs a request sent again after a renewal with the new token and the rotated cookie's proof. */
function signAnew(request: Request): void {
  for (const [name, value] of Object.entries(requestHeaders(session, document.cookie))) request.headers.set(name, value);
}

export const api = createApi(
  session,
  renewingFetch(
    session,
    signAnew,
    watchingSuspension((input, init) => fetch(input, init)),
  ),
);

session.renewWith(async () => {
  // Without the readable CSRF cookie there is no refresh cookie either: nothing to ask.
  if (!csrfProof(document.cookie)) return null;
  // In cookie mode the gateway reads the refresh token from its HttpOnly cookie, not this body.
  const { data, response } = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: "" } });
  return response.ok && data ? data : null;
});

/** Ends the session on the server and in this tab. */
export async function logOut(): Promise<void> {
  await api.POST("/api/v1/auth/logout").catch(() => undefined);
  session.end();
}
