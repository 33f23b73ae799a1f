// The self-service profile's server data: profile, consents, notification preferences, second factors.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";

export function useProfile() {
  return useQuery({ queryKey: ["profile"], queryFn: async () => unwrap(await api.GET("/api/v1/users/me")) });
}

export function useConsents() {
  return useQuery({ queryKey: ["consents"], queryFn: async () => unwrap(await api.GET("/api/v1/users/me/consents")) });
}

export function useNotificationPreferences() {
  return useQuery({
    queryKey: ["notification-preferences"],
    queryFn: async () => unwrap(await api.GET("/api/v1/users/me/notification-preferences")),
  });
}

export function useMfaMethods() {
  return useQuery({ queryKey: ["mfa-methods"], queryFn: async () => unwrap(await api.GET("/api/v1/auth/mfa/methods")) });
}
