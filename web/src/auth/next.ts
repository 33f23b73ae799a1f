// Where to go after logging in: back where the person was, never to another site.

export const HOME = "/app";

/** ``next`` when it is a path of this app, the home page otherwise. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : HOME;
}

/** The login page's address that comes back to ``path`` afterwards. */
export function loginFor(path: string): string {
  return `/login?next=${encodeURIComponent(path)}`;
}
