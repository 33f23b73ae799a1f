// The signed-in person, their tenant and scopes (GET /auth/me), cached for every page.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";

/** The query keys of the signed-in person's own data, for reading it and for refreshing it after a change. */
export const ACCOUNT_KEYS = {
  me: ["me"],
  profile: ["profile"],
  consents: ["consents"],
  mfaMethods: ["mfa-methods"],
} as const;

export function useMe() {
  return useQuery({ queryKey: ACCOUNT_KEYS.me, queryFn: async () => unwrap(await api.GET("/api/v1/auth/me")) });
}
