// The operator's data of tenants: the searched list in cursor pages, one tenant's page, and the
// lifecycle actions (create, suspend, reactivate), each refreshing what it changed.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { useNotify } from "../ui/toasts";

export type TenantSummary = components["schemas"]["TenantSummary"];
export type TenantDetail = components["schemas"]["TenantDetail"];
export type TenantStatus = TenantSummary["status"];

export const TENANT_STATUSES: TenantStatus[] = ["active", "suspended", "deprovisioning", "deleted"];

const PAGE_SIZE = 25;

/** Query keys of the operators' tenant screens: every change to a tenant refreshes ``all``. */
export const TENANT_KEYS = {
  all: ["operator", "tenants"] as const,
  list: (q: string, status: TenantStatus | "all") => ["operator", "tenants", "list", q, status] as const,
  one: (tenantId: string) => ["operator", "tenants", "one", tenantId] as const,
};

export function useTenants(q: string, status: TenantStatus | "all") {
  return useInfiniteQuery({
    queryKey: TENANT_KEYS.list(q, status),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/platform/tenants", {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(q ? { q } : {}),
              ...(status === "all" ? {} : { status }),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function useTenant(tenantId: string) {
  return useQuery({
    queryKey: TENANT_KEYS.one(tenantId),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/platform/tenants/{tenant_id}", { params: { path: { tenant_id: tenantId } } })),
  });
}

/** Suspending and reactivating a tenant; each puts the answered page in the cache and refreshes the lists. */
export function useTenantLifecycle(tenantId: string) {
  const cache = useQueryClient();
  const notify = useNotify();
  const settle = (tenant: TenantDetail) => {
    cache.setQueryData(TENANT_KEYS.one(tenantId), tenant);
    return cache.invalidateQueries({ queryKey: TENANT_KEYS.all });
  };
  const suspend = useMutation({
    mutationFn: async (reason: string) =>
      unwrap(
        await api.POST("/api/v1/platform/tenants/{tenant_id}/suspend", {
          params: { path: { tenant_id: tenantId } },
          body: { reason },
        }),
      ),
    onSuccess: (tenant) => {
      notify(`${tenant.name} is suspended`, "Its members and service accounts are refused from now on.");
      return settle(tenant);
    },
  });
  const reactivate = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/platform/tenants/{tenant_id}/reactivate", {
          params: { path: { tenant_id: tenantId } },
        }),
      ),
    onSuccess: (tenant) => {
      notify(`${tenant.name} is active again`);
      return settle(tenant);
    },
  });
  return { suspend, reactivate };
}

export function useCreateTenant() {
  const cache = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async (values: { name: string; owner_email: string; plan: string | null }) =>
      unwrap(await api.POST("/api/v1/platform/tenants", { body: values })),
    onSuccess: (tenant) => {
      notify(`${tenant.name} was created`, `An invite to own it went to ${tenant.owner_email ?? "its owner"}.`);
      cache.setQueryData(TENANT_KEYS.one(tenant.id), tenant);
      return cache.invalidateQueries({ queryKey: TENANT_KEYS.all });
    },
  });
}

/** "Active", "Deprovisioning", … for a tenant's status. */
export function tenantStatusName(status: TenantStatus | "all"): string {
  return status === "all" ? "All" : status.charAt(0).toUpperCase() + status.slice(1);
}

/** "messages 7 · tokens 1,200" for a period's usage by meter, or null when billing said nothing. */
export function usageSummary(used: Record<string, number>): string | null {
  const meters = Object.entries(used).sort(([a], [b]) => a.localeCompare(b));
  if (meters.length === 0) return null;
  return meters.map(([meter, count]) => `${meter} ${count.toLocaleString()}`).join(" · ");
}
