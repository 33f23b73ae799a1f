// Where to go after logging in: back where the person was, never to another site.

export const HOME = "/app";

/**
 * ``next`` as a path of this app (path, query and fragment as the browser parses them), the home
 * page when it is missing or would lead to another origin (``//x``, ``/\x``, ``/\t/x``...).
 */
export function safeNext(next: string | null, origin: string = globalThis.location.origin): string {
  if (!next?.startsWith("/")) return HOME;
  const target = new URL(next, origin);
  return target.origin === origin ? target.pathname + target.search + target.hash : HOME;
}

/** The login page's address that comes back to ``path`` afterwards. */
export function loginFor(path: string): string {
  return `/login?next=${encodeURIComponent(path)}`;
}
