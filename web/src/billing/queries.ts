// Billing's reads (plan catalog, subscription, usage), cached under the keys the stream updates.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { BILLING_KEYS } from "./live";

export function usePlans() {
  return useQuery({
    queryKey: BILLING_KEYS.plans,
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/plans")).items,
  });
}

export function useSubscription() {
  return useQuery({
    queryKey: BILLING_KEYS.subscription,
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/subscription")),
  });
}

export function useUsage() {
  return useQuery({
    queryKey: BILLING_KEYS.usage,
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/usage")),
  });
}
