// The activity feed in the cache: its keys, which feed a new item belongs on, and the changes a
// new (live) item, a read, a dismissal and "mark all read" (up to the newest item shown) make to the
// cached pages and count.
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type { ServerEvent } from "../api/events";
import type { StreamFollower } from "../api/follow";
import type { components } from "../api/schema";

export type ActivityItem = components["schemas"]["ActivityItem"];
export type FeedPage = components["schemas"]["Page_ActivityItem_"];
/** The feed's cursor pages as the infinite query caches them. */
export type Feed = InfiniteData<FeedPage, string | null>;

/** What the feed shows: one kind ("" for all), one actor's items ("" for anyone's), unread only. */
export interface FeedFilters {
  kind: string;
  actor: string;
  unreadOnly: boolean;
}

export const ALL_ACTIVITY: FeedFilters = { kind: "", actor: "", unreadOnly: false };

export const ACTIVITY_KEYS = {
  all: ["activity"] as const,
  feeds: ["activity", "feed"] as const,
  feed: (filters: FeedFilters) => ["activity", "feed", filters] as const,
  unread: ["activity", "unread"] as const,
};

/** The filters of a cached feed, read back from its query key. */
export function filtersOfKey(key: readonly unknown[]): FeedFilters | null {
  const filters = key[2];
  return typeof filters === "object" && filters !== null ? (filters as FeedFilters) : null;
}

/** Whether ``item`` is shown on a feed with ``filters``. */
export function belongs(item: ActivityItem, filters: FeedFilters): boolean {
  return (
    !item.dismissed &&
    (filters.kind === "" || item.kind === filters.kind) &&
    (filters.actor === "" || item.actor?.id === filters.actor) &&
    (!filters.unreadOnly || !item.read)
  );
}

export function itemsOf(feed: { pages: readonly FeedPage[] }): ActivityItem[] {
  return feed.pages.flatMap((page) => page.items);
}

function holds(feed: Feed, id: string): boolean {
  return feed.pages.some((page) => page.items.some((item) => item.id === id));
}

function mapItems(feed: Feed, change: (items: ActivityItem[]) => ActivityItem[]): Feed {
  return { ...feed, pages: feed.pages.map((page) => ({ ...page, items: change(page.items) })) };
}

/** ``feed`` with a new item on top, when it belongs there and is not already shown. */
export function withNewItem(feed: Feed | undefined, item: ActivityItem, filters: FeedFilters): Feed | undefined {
  if (!feed || feed.pages.length === 0 || !belongs(item, filters) || holds(feed, item.id)) return feed;
  const [first, ...older] = feed.pages as [FeedPage, ...FeedPage[]];
  return { ...feed, pages: [{ ...first, items: [item, ...first.items] }, ...older] };
}

/** ``feed`` with item ``id`` read (it stays in an unread-only feed until the next fetch, so it does
 * not vanish under the reader's pointer). */
export function withItemRead(feed: Feed | undefined, id: string): Feed | undefined {
  return feed && mapItems(feed, (items) => items.map((item) => (item.id === id ? { ...item, read: true } : item)));
}

/** ``feed`` with every item read. */
export function withAllRead(feed: Feed | undefined): Feed | undefined {
  return feed && mapItems(feed, (items) => items.map((item) => (item.read ? item : { ...item, read: true })));
}

/** The newest item a feed shows (live items come on top of its first page); null when empty. */
export function newestShown(feed: { pages: readonly FeedPage[] } | undefined): ActivityItem | null {
  return feed?.pages[0]?.items[0] ?? null;
}

/** An item's place in the feed's order as one comparable string: its UTC time to the microsecond
 * (the server's order; a Date keeps only milliseconds), then its id breaking ties. */
function placeOf(item: ActivityItem): string {
  const seconds = new Date(item.occurred_at).toISOString().slice(0, 19);
  const fraction = /\.(\d+)/.exec(item.occurred_at)?.[1] ?? "";
  return `${seconds}.${fraction.padEnd(6, "0").slice(0, 6)} ${item.id}`;
}

/** ``feed`` with ``upTo`` and every item before it in the feed's order read; newer ones stay as
 * they are (the server marked only those: "mark all read" up to the newest item shown). */
export function withReadUpTo(feed: Feed | undefined, upTo: ActivityItem): Feed | undefined {
  const last = placeOf(upTo);
  return (
    feed &&
    mapItems(feed, (items) => items.map((item) => (item.read || placeOf(item) > last ? item : { ...item, read: true })))
  );
}

/** ``feed`` without the dismissed item ``id``. */
export function withoutItem(feed: Feed | undefined, id: string): Feed | undefined {
  return feed && mapItems(feed, (items) => items.filter((item) => item.id !== id));
}

/** The item that takes the place of ``id`` once it is dismissed: the next (older) one, else the one
 * before it; null when it was the only one. */
export function neighbourOf(items: readonly ActivityItem[], id: string): ActivityItem | null {
  const at = items.findIndex((item) => item.id === id);
  if (at < 0) return null;
  return items[at + 1] ?? items[at - 1] ?? null;
}

/** The unread count once a new item arrived (unknown stays unknown until fetched). */
export function unreadWithNew(count: number | undefined, item: ActivityItem): number | undefined {
  return count === undefined || item.read ? count : count + 1;
}

/** The unread count once ``marked`` items were marked read at once, never below zero. */
export function unreadAfterReadAll(count: number | undefined, marked: number): number | undefined {
  return count === undefined ? count : Math.max(0, count - marked);
}

/** The unread count once one item was read or dismissed, never below zero. */
export function unreadWithout(count: number | undefined, item: ActivityItem): number | undefined {
  return count === undefined || item.read ? count : Math.max(0, count - 1);
}

/** The feed item an SSE event carries; null for any other event (a stream's ending). */
export function activityItem(event: ServerEvent): ActivityItem | null {
  return event.event === "activity.item" ? (JSON.parse(event.data) as ActivityItem) : null;
}

/** The cached queries under ``queryKey`` asked again, any answer on its way dropped: it may predate
 * what the stream just told (and a refetch alone waits for a first answer instead of asking again). */
async function askAgain(cache: QueryClient, queryKey: readonly unknown[], exact = false): Promise<void> {
  await cache.cancelQueries({ queryKey, exact });
  await cache.invalidateQueries({ queryKey, exact });
}

/** Write a new item into the cache: on top of each feed it belongs on, and into the unread count.
 * A feed being fetched is fetched again instead (the answer on its way may predate the item and
 * would replace it), and the count is asked again (the one cached may already hold the item). */
export function addNewItem(cache: QueryClient, item: ActivityItem): void {
  for (const [key, feed] of cache.getQueriesData<Feed>({ queryKey: ACTIVITY_KEYS.feeds })) {
    const filters = filtersOfKey(key);
    if (!filters || !belongs(item, filters)) continue;
    if (cache.getQueryState(key)?.fetchStatus === "fetching") {
      void askAgain(cache, key, true);
    } else {
      cache.setQueryData<Feed>(key, withNewItem(feed, item, filters));
    }
  }
  cache.setQueryData<number>(ACTIVITY_KEYS.unread, (unread) => unreadWithNew(unread, item));
  void askAgain(cache, ACTIVITY_KEYS.unread, true);
}

/** What the live feed does to the cache: each new item written in once, and the feeds and count
 * fetched again each time the stream is live, since it brings nothing from before it opened (the
 * first time, a page fetched just before; after a reconnect, what came while it was down). */
export function liveFeedFollower(cache: QueryClient): Pick<StreamFollower<ActivityItem>, "onEvent" | "onLiveness"> {
  const recent = new RecentItems();
  return {
    onEvent: (item) => {
      if (recent.firstTime(item.id)) addNewItem(cache, item);
    },
    onLiveness: (liveness) => {
      if (liveness === "live") void askAgain(cache, ACTIVITY_KEYS.all);
    },
  };
}

/** Ids of the items heard last, to take each live item once: an item about an admin reaches them
 * twice, and a reconnect may bring one again. */
export class RecentItems {
  private readonly ids: string[] = [];

  constructor(private readonly size = 200) {}

  /** True the first time ``id`` is seen (of the last ``size``). */
  firstTime(id: string): boolean {
    if (this.ids.includes(id)) return false;
    this.ids.push(id);
    if (this.ids.length > this.size) this.ids.shift();
    return true;
  }
}

/** The items on top of ``now`` that were not shown ``before`` (null: nothing was shown yet, so
 * nothing counts as arrived), newest first. */
export function arrivedOnTop(before: readonly string[] | null, now: readonly ActivityItem[]): ActivityItem[] {
  if (before === null) return [];
  const known = new Set(before);
  const arrived: ActivityItem[] = [];
  for (const item of now) {
    if (known.has(item.id)) break;
    arrived.push(item);
  }
  return arrived;
}

/** The unread count in words, as the header's badge is read out. */
export function unreadWords(count: number): string {
  return `${count} unread activity ${count === 1 ? "item" : "items"}`;
}

/** What the feed announces when items arrive on top, newest first. */
export function arrivalWords(arrived: readonly ActivityItem[]): string {
  const [latest] = arrived;
  if (!latest) return "";
  if (arrived.length === 1) return `New activity: ${latest.summary}`;
  return `${arrived.length} new activity items. The latest: ${latest.summary}`;
}
