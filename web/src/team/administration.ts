// The team's administration data for owners and admins: pending invites, the tenant's name and
// settings, password resets and the audit log (cursor pages), with the changes that refresh them.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "../account/me";
import { useNotify } from "../ui/toasts";
import type { Member } from "./roles";
import type { TenantSettings } from "./tenantSettings";

export type PendingInvite = components["schemas"]["InviteView"];
export type AuditEntry = components["schemas"]["AuditEntryView"];

const PAGE_SIZE = 25;
export const ADMIN_KEYS = {
  invites: ["team", "invites"] as const,
  settings: ["team", "settings"] as const,
  audit: (kind: string) => ["team", "audit", kind] as const,
};

function cursorOf(pageParam: string | null) {
  return pageParam ? { cursor: pageParam } : {};
}

export function usePendingInvites() {
  return useInfiniteQuery({
    queryKey: ADMIN_KEYS.invites,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/tenants/invites", { params: { query: { limit: PAGE_SIZE, ...cursorOf(pageParam) } } })),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function useRevokeInvite() {
  const cache = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async (invite: PendingInvite) =>
      unwrap(await api.DELETE("/api/v1/tenants/invites/{invite_id}", { params: { path: { invite_id: invite.id } } })),
    onSuccess: (_nothing, invite) => {
      notify(`The invite to ${invite.email} was revoked`, "Its link no longer works.");
      return cache.invalidateQueries({ queryKey: ADMIN_KEYS.invites });
    },
  });
}

export function useRenameTenant() {
  const cache = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async (body: { name: string; slug: string }) => unwrap(await api.PATCH("/api/v1/tenants/current", { body })),
    onSuccess: (tenant) => {
      notify(`The team is now ${tenant.name}`, `Its slug is ${tenant.slug}.`);
      return cache.invalidateQueries({ queryKey: ACCOUNT_KEYS.me });
    },
  });
}

export function useCurrentTenant() {
  return useQuery({ queryKey: ["team", "tenant"], queryFn: async () => unwrap(await api.GET("/api/v1/tenants/current")) });
}

export function useTenantSettings() {
  return useQuery({ queryKey: ADMIN_KEYS.settings, queryFn: async () => unwrap(await api.GET("/api/v1/tenants/settings")) });
}

export function useSaveSettings() {
  const cache = useQueryClient();
  const notify = useNotify();
  return useMutation({
    mutationFn: async (body: TenantSettings) => unwrap(await api.PUT("/api/v1/tenants/settings", { body })),
    onSuccess: (saved) => {
      cache.setQueryData(ADMIN_KEYS.settings, saved);
      notify("Settings saved");
    },
  });
}

export function useAdminReset() {
  const notify = useNotify();
  return useMutation({
    mutationFn: async (member: Member) =>
      unwrap(await api.POST("/api/v1/auth/password/admin-reset", { body: { user_id: member.user_id } })),
    onSuccess: (_nothing, member) =>
      notify(`${member.email} was signed out everywhere`, "A reset code is on its way to their mailbox."),
  });
}

export function useAuditLog(kind: string) {
  return useInfiniteQuery({
    queryKey: ADMIN_KEYS.audit(kind),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/auth/audit", {
          params: { query: { limit: PAGE_SIZE, ...(kind ? { kind } : {}), ...cursorOf(pageParam) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}
