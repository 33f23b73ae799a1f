// The activity feed's reads (cursor pages, the unread count) and changes (read, dismiss, read all),
// each change written into every cached feed at once and the unread count asked again after.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import {
  ACTIVITY_KEYS,
  unreadAfterReadAll,
  unreadWithout,
  withAllRead,
  withItemRead,
  withoutItem,
  withReadUpTo,
  type ActivityItem,
  type Feed,
  type FeedFilters,
} from "./feed";

const PAGE_SIZE = 20;

function feedQuery(filters: FeedFilters, cursor: string | null) {
  return {
    limit: PAGE_SIZE,
    ...(filters.kind ? { kind: filters.kind } : {}),
    ...(filters.actor ? { actor: filters.actor } : {}),
    ...(filters.unreadOnly ? { unread: true } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

export function useActivityFeed(filters: FeedFilters) {
  return useInfiniteQuery({
    queryKey: ACTIVITY_KEYS.feed(filters),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/activity", { params: { query: feedQuery(filters, pageParam) } })),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function useUnreadCount() {
  return useQuery({
    queryKey: ACTIVITY_KEYS.unread,
    queryFn: async () => unwrap(await api.GET("/api/v1/activity/unread-count")).unread,
  });
}

/** Apply ``change`` to every cached feed, and ``count`` to the cached unread count. */
function rewrite(
  cache: QueryClient,
  change: (feed: Feed | undefined) => Feed | undefined,
  count: (unread: number | undefined) => number | undefined,
): void {
  cache.setQueriesData<Feed>({ queryKey: ACTIVITY_KEYS.feeds }, change);
  cache.setQueryData<number>(ACTIVITY_KEYS.unread, count);
}

type ItemChangePath = "/api/v1/activity/{item_id}/read" | "/api/v1/activity/{item_id}/dismiss";

/** A change of one item (read, dismissed), written into every cached feed by ``change`` once the
 * server took it; the count asked again is not waited for. */
function useItemChange(path: ItemChangePath, change: (feed: Feed | undefined, id: string) => Feed | undefined) {
  const cache = useQueryClient();
  return useMutation({
    mutationFn: async (item: ActivityItem) => unwrap(await api.POST(path, { params: { path: { item_id: item.id } } })),
    onSuccess: (_nothing, item) => {
      rewrite(cache, (feed) => change(feed, item.id), (unread) => unreadWithout(unread, item));
      void cache.invalidateQueries({ queryKey: ACTIVITY_KEYS.unread });
    },
  });
}

export function useMarkRead() {
  return useItemChange("/api/v1/activity/{item_id}/read", withItemRead);
}

export function useDismiss() {
  return useItemChange("/api/v1/activity/{item_id}/dismiss", withoutItem);
}

/** Mark read every item up to ``upTo``, the newest one shown (items that arrive after it stay
 * unread), or every item when the feed shows none. */
export function useReadAll() {
  const cache = useQueryClient();
  return useMutation({
    mutationFn: async (upTo: ActivityItem | null) =>
      unwrap(await api.POST("/api/v1/activity/read-all", { body: { up_to: upTo?.id ?? null } })),
    onSuccess: ({ marked }, upTo) => {
      if (upTo) rewrite(cache, (feed) => withReadUpTo(feed, upTo), (unread) => unreadAfterReadAll(unread, marked));
      else rewrite(cache, withAllRead, () => 0);
      return cache.invalidateQueries({ queryKey: ACTIVITY_KEYS.unread });
    },
  });
}
