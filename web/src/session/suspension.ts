// Whether the signed-in person's team is suspended: any answer 403 tenant_suspended says so, and
// the app then shows one clear page instead of each request's error. Cleared when the session
// ends or the person checks again.
import { useSyncExternalStore } from "react";
import { session } from "./session";

export const TENANT_SUSPENDED = "tenant_suspended";

let suspended = false;
const listeners = new Set<() => void>();

function set(next: boolean): void {
  if (suspended === next) return;
  suspended = next;
  for (const listener of listeners) listener();
}

/** Forget the suspension (the person checks again, or their session ended). */
export function forgetSuspension(): void {
  set(false);
}

session.onEnd(forgetSuspension);

/** True when ``response`` refuses the request because the caller's team is suspended. */
export async function refusesSuspendedTeam(response: Response): Promise<boolean> {
  if (response.status !== 403) return false;
  const problem: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  return typeof problem === "object" && problem !== null && (problem as { code?: unknown }).code === TENANT_SUSPENDED;
}

/** ``fetchImpl`` that notes a suspended team from any answer saying so. */
export function watchingSuspension(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    if (await refusesSuspendedTeam(response)) set(true);
    return response;
  };
}

/** Whether an answer said the team is suspended (and it was not forgotten since). */
export function isTeamSuspended(): boolean {
  return suspended;
}

export type TeamCheck = "active" | "still-suspended" | "failed";

/** Ask once, with ``ask``, whether the team is active again; only then is the suspension
 * forgotten (so the app comes back without flashing up while the team is still suspended). */
export async function checkTeamAgain(ask: () => Promise<Response>): Promise<TeamCheck> {
  const response = await ask().catch(() => null);
  if (response?.ok) {
    forgetSuspension();
    return "active";
  }
  return response !== null && (await refusesSuspendedTeam(response)) ? "still-suspended" : "failed";
}

export function useTeamSuspended(): boolean {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isTeamSuspended,
  );
}
