// The operator's data of who may sign up: access requests and platform signup invites, paged.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { useNotify } from "../ui/toasts";

export type SignupRequest = components["schemas"]["SignupRequestView"];
export type SignupInvite = components["schemas"]["SignupInviteView"];
export type RequestStatus = SignupRequest["status"];

const PAGE_SIZE = 50;
export const SIGNUP_KEYS = {
  all: ["operator", "signups"] as const,
  requests: (status: RequestStatus | "all") => ["operator", "signups", "requests", status] as const,
  invites: ["operator", "signups", "invites"] as const,
};

function cursorOf(pageParam: string | null) {
  return pageParam ? { cursor: pageParam } : {};
}

export function useSignupRequests(status: RequestStatus | "all") {
  return useInfiniteQuery({
    queryKey: SIGNUP_KEYS.requests(status),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/auth/signup-requests", {
          params: {
            query: { limit: PAGE_SIZE, ...(status === "all" ? {} : { status }), ...cursorOf(pageParam) },
          },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function useSignupInvites() {
  return useInfiniteQuery({
    queryKey: SIGNUP_KEYS.invites,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/auth/signup-invites", {
          params: { query: { limit: PAGE_SIZE, ...cursorOf(pageParam) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

/** Approving, rejecting, inviting and revoking; each refreshes both lists (an approval sends an invite). */
export function useSignupDecisions() {
  const cache = useQueryClient();
  const notify = useNotify();
  const refresh = () => cache.invalidateQueries({ queryKey: SIGNUP_KEYS.all });
  const approve = useMutation({
    mutationFn: async (request: SignupRequest) =>
      unwrap(
        await api.POST("/api/v1/auth/signup-requests/{signup_request_id}/approve", {
          params: { path: { signup_request_id: request.id } },
        }),
      ),
    onSuccess: (approved) => {
      if (approved.status === "account_exists") {
        notify(`${approved.email} has an account already`, "Nothing was sent; the request is closed.");
      } else {
        notify(`${approved.email} approved`, "A signup invite is on its way to them.");
      }
      return refresh();
    },
  });
  const reject = useMutation({
    mutationFn: async ({ request, reason }: { request: SignupRequest; reason: string | null }) =>
      unwrap(
        await api.POST("/api/v1/auth/signup-requests/{signup_request_id}/reject", {
          params: { path: { signup_request_id: request.id } },
          body: { reason },
        }),
      ),
    onSuccess: (rejected) => {
      notify(`${rejected.email} rejected`, rejected.reason ? "They were told why by email." : undefined);
      return refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: async (invite: SignupInvite) =>
      unwrap(
        await api.POST("/api/v1/auth/signup-invites/{signup_invite_id}/revoke", {
          params: { path: { signup_invite_id: invite.id } },
        }),
      ),
    onSuccess: (revoked) => {
      notify(`The invite to ${revoked.email} was revoked`);
      return refresh();
    },
  });
  return { approve, reject, revoke, refresh };
}

export type SignupDecisions = ReturnType<typeof useSignupDecisions>;

/** "Pending", "Account exists", … for a status word of the API. */
export function statusName(status: string): string {
  const words = status.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
