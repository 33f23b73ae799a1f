// The app's one API client: signed with the session, renewing it from the refresh cookie, and
// ending it when the server refuses the session (the router then sends the person to log in).
import { createApi } from "../api/client";
import { CSRF_COOKIE, readCookie } from "../session/cookies";
import { session } from "../session/session";

export const api = createApi(session);

/** Routes whose 401 means wrong credentials or codes, not an ended session. */
const CREDENTIAL_ROUTES = /\/api\/v1\/auth\/(token|mfa\/complete|refresh|register|password\/)/;

api.use({
  onResponse({ request, response }) {
    if (response.status === 401 && !CREDENTIAL_ROUTES.test(new URL(request.url).pathname)) {
      session.end();
    }
    return response;
  },
});

session.renewWith(async () => {
  // Without the readable CSRF cookie there is no refresh cookie either: nothing to ask.
  if (!readCookie(document.cookie, CSRF_COOKIE)) return null;
  // In cookie mode the gateway reads the refresh token from its HttpOnly cookie, not this body.
  const { data, response } = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: "" } });
  return response.ok && data ? data : null;
});

/** Ends the session on the server and in this tab. */
export async function logOut(): Promise<void> {
  await api.POST("/api/v1/auth/logout").catch(() => undefined);
  session.end();
}
