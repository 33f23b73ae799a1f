// The self-service profile's server data: profile, consents, notification preferences, second factors.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";

export function useProfile() {
  return useQuery({ queryKey: ACCOUNT_KEYS.profile, queryFn: async () => unwrap(await api.GET("/api/v1/users/me")) });
}

export function useConsents() {
  return useQuery({ queryKey: ACCOUNT_KEYS.consents, queryFn: async () => unwrap(await api.GET("/api/v1/users/me/consents")) });
}

export function useNotificationPreferences() {
  return useQuery({
    queryKey: ["notification-preferences"],
    queryFn: async () => unwrap(await api.GET("/api/v1/users/me/notification-preferences")),
  });
}

export function useMfaMethods() {
  return useQuery({ queryKey: ACCOUNT_KEYS.mfaMethods, queryFn: async () => unwrap(await api.GET("/api/v1/auth/mfa/methods")) });
}
