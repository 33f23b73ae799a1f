// Who may sign up (GET /auth/signup-policy): the register, login and landing pages adapt to it.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { useSessionStatus } from "../session/session";

export function useSignupPolicy() {
  // Asked once the session is known: ending one (also the first renewal finding none) clears the
  // cache, and a query cleared in flight would never settle.
  const known = useSessionStatus() !== "unknown";
  return useQuery({
    queryKey: ["signup-policy"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/signup-policy")),
    staleTime: 5 * 60_000,
    enabled: known,
  });
}

/** Whether anyone may register without being invited or approved first. */
export function opensToAll(policy: string | undefined): boolean {
  return policy === undefined || policy === "public";
}
