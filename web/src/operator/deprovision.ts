// Deprovisioning a tenant: the operator's request (the answered page goes into the cache) and the
// page read again every few seconds while the services delete their parts.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { useNotify } from "../ui/toasts";
import { TENANT_KEYS } from "./tenants";

/** How often the tenant's page is read again while its parts are being deleted. */
export const PROGRESS_POLL_MS = 2000;

export function useDeprovision(tenantId: string) {
  const cache = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/v1/platform/tenants/{tenant_id}", {
          params: { path: { tenant_id: tenantId } },
        }),
      ),
    onSuccess: (tenant) => {
      notify(`${tenant.name} is being deprovisioned`, "Each service deletes its part of the team's data.");
      cache.setQueryData(TENANT_KEYS.one(tenantId), tenant);
      return cache.invalidateQueries({ queryKey: TENANT_KEYS.all });
    },
  });
}

/** Reads the tenant's page again every few seconds while ``deprovisioning`` holds. */
export function useProgressPolling(tenantId: string, deprovisioning: boolean) {
  const cache = useQueryClient();
  useEffect(() => {
    if (!deprovisioning) return undefined;
    const timer = window.setInterval(
      () => void cache.invalidateQueries({ queryKey: TENANT_KEYS.one(tenantId) }),
      PROGRESS_POLL_MS,
    );
    return () => window.clearInterval(timer);
  }, [cache, tenantId, deprovisioning]);
}
