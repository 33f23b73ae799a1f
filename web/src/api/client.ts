// The typed API client, generated from the gateway's OpenAPI document (schema.d.ts): one for the app.
import createClient, { type Middleware } from "openapi-fetch";
import { sessionHeaders } from "../session/cookies";
import type { paths } from "./schema";

export type Api = ReturnType<typeof createClient<paths>>;

export interface Credentials {
  /** The access token in memory, or null when logged out. */
  accessToken(): string | null;
}

/** The headers every request carries: the bearer token, the session mode and the CSRF proof. */
export function requestHeaders(credentials: Credentials, cookies: string): Record<string, string> {
  const token = credentials.accessToken();
  return { ...sessionHeaders(cookies), ...(token ? { Authorization: `Bearer ${token}` } : {}) };
}

/** A client for the gateway this page came from, signing requests with ``credentials``. */
export function createApi(credentials: Credentials, fetchImpl: typeof fetch = fetch): Api {
  const api = createClient<paths>({ baseUrl: window.location.origin, fetch: fetchImpl });
  const signing: Middleware = {
    onRequest({ request }) {
      for (const [name, value] of Object.entries(requestHeaders(credentials, document.cookie))) {
        if (!request.headers.has(name)) request.headers.set(name, value);
      }
      return request;
    },
  };
  api.use(signing);
  return api;
}
