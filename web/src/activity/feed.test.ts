import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";
import {
  ACTIVITY_KEYS,
  ALL_ACTIVITY,
  RecentItems,
  arrivalWords,
  arrivedOnTop,
  belongs,
  itemsOf,
  unreadWithNew,
  unreadWithout,
  unreadWords,
  withAllRead,
  withItemRead,
  withNewItem,
  withoutItem,
  activityItem,
  addNewItem,
  neighbourOf,
  newestShown,
  liveFeedFollower,
  unreadAfterReadAll,
  withReadUpTo,
  type ActivityItem,
  type Feed,
} from "./feed";

function item(id: string, extra: Partial<ActivityItem> = {}): ActivityItem {
  return {
    id,
    kind: "member.changed",
    actor: { id: "usr_ada", label: "Ada" },
    subject: { type: "member", id: "usr_lin", label: "Lin", href: "/team" },
    summary: `summary ${id}`,
    occurred_at: "2026-12-07T04:00:00Z",
    read: false,
    dismissed: false,
    audience: "members",
    ...extra,
  };
}

function feed(...pages: ActivityItem[][]): Feed {
  return {
    pages: pages.map((items, n) => ({ items, next_cursor: n < pages.length - 1 ? `c${n}` : null })),
    pageParams: pages.map((_, n) => (n === 0 ? null : `c${n - 1}`)),
  };
}

const ids = (shown: Feed | undefined) => (shown ? itemsOf(shown).map((shownItem) => shownItem.id) : []);

/** The unfiltered feed as a page shows it, its first fetch on its way: ``askedAgain`` answers that
 * one without item a2 (it predates a2) and the next with it, and resolves to what the feed shows. */
function watchedFeed(cache: QueryClient) {
  const fetches: Array<(answer: Feed) => void> = [];
  const key = ACTIVITY_KEYS.feed(ALL_ACTIVITY);
  const shown = new QueryObserver<Feed>(cache, {
    queryKey: key,
    queryFn: () => new Promise<Feed>((resolve) => fetches.push(resolve)),
  });
  const stop = shown.subscribe(() => undefined);
  const askedAgain = async (): Promise<string[]> => {
    await vi.waitFor(() => expect(fetches).toHaveLength(2));
    fetches[0]?.(feed([item("a1")]));
    fetches[1]?.(feed([item("a2"), item("a1")]));
    await vi.waitFor(() => expect(cache.getQueryState(key)?.fetchStatus).toBe("idle"));
    stop();
    return ids(cache.getQueryData<Feed>(key));
  };
  return { fetches, askedAgain };
}

describe("a new item in a cached feed", () => {
  it("goes on top of the first page, the older pages untouched", () => {
    const older = [item("a3")];
    const merged = withNewItem(feed([item("a2"), item("a1")], older), item("a4"), ALL_ACTIVITY);
    expect(ids(merged)).toEqual(["a4", "a2", "a1", "a3"]);
    expect(merged?.pages[1]?.items).toBe(older);
  });

  it("is taken once, wherever the feed already shows it", () => {
    const shown = feed([item("a2")], [item("a1")]);
    expect(withNewItem(shown, item("a1"), ALL_ACTIVITY)).toBe(shown);
  });

  it("stays off feeds whose filters it does not match", () => {
    const shown = feed([item("a1")]);
    const other = item("a2", { kind: "session.revoked", actor: { id: "usr_lin", label: "Lin" } });
    expect(withNewItem(shown, other, { ...ALL_ACTIVITY, kind: "member.changed" })).toBe(shown);
    expect(withNewItem(shown, other, { ...ALL_ACTIVITY, actor: "usr_ada" })).toBe(shown);
    expect(withNewItem(shown, item("a3", { read: true }), { ...ALL_ACTIVITY, unreadOnly: true })).toBe(shown);
    expect(ids(withNewItem(shown, other, { ...ALL_ACTIVITY, actor: "usr_lin" }))).toEqual(["a2", "a1"]);
  });

  it("leaves a feed not fetched yet alone", () => {
    expect(withNewItem(undefined, item("a1"), ALL_ACTIVITY)).toBeUndefined();
  });
});

describe("reading and dismissing", () => {
  it("marks one item read, or all of them", () => {
    const shown = feed([item("a2"), item("a1")], [item("a0", { read: true })]);
    expect(itemsOf(withItemRead(shown, "a1") as Feed).map((read) => read.read)).toEqual([false, true, true]);
    expect(itemsOf(withAllRead(shown) as Feed).every((read) => read.read)).toBe(true);
  });

  it("marks all read up to the newest item shown, live ones on top included", () => {
    const shown = withNewItem(feed([item("a2"), item("a1")]), item("a3"), ALL_ACTIVITY);
    const upTo = newestShown(shown);
    expect(upTo?.id).toBe("a3");
    expect(newestShown(feed([]))).toBeNull();
    const later = item("a4", { occurred_at: "2026-12-07T04:00:00.000001Z" });
    const read = withReadUpTo(withNewItem(shown, later, ALL_ACTIVITY), upTo as ActivityItem);
    expect(itemsOf(read as Feed).map((each) => [each.id, each.read])).toEqual([
      ["a4", false],
      ["a3", true],
      ["a2", true],
      ["a1", true],
    ]);
    expect(unreadAfterReadAll(5, 3)).toBe(2);
    expect(unreadAfterReadAll(undefined, 3)).toBeUndefined();
  });

  it("takes a dismissed item off the feed", () => {
    expect(ids(withoutItem(feed([item("a2"), item("a1")]), "a2"))).toEqual(["a1"]);
  });

  it("leaves the next item in a dismissed one's place, or the one before the last", () => {
    const shown = [item("a3"), item("a2"), item("a1")];
    expect(["a3", "a2", "a1"].map((id) => neighbourOf(shown, id)?.id)).toEqual(["a2", "a1", "a2"]);
    expect(neighbourOf([item("a1")], "a1")).toBeNull();
  });

  it("shows no dismissed item", () => {
    expect(belongs(item("a1", { dismissed: true }), ALL_ACTIVITY)).toBe(false);
  });
});

describe("the unread count", () => {
  it("rises with an unread new item and falls with a read or dismissed unread one", () => {
    expect(unreadWithNew(2, item("a1"))).toBe(3);
    expect(unreadWithNew(2, item("a1", { read: true }))).toBe(2);
    expect(unreadWithNew(undefined, item("a1"))).toBeUndefined();
    expect(unreadWithout(1, item("a1"))).toBe(0);
    expect(unreadWithout(0, item("a1"))).toBe(0);
    expect(unreadWithout(3, item("a1", { read: true }))).toBe(3);
  });

  it("is read out in words", () => {
    expect(unreadWords(1)).toBe("1 unread activity item");
    expect(unreadWords(3)).toBe("3 unread activity items");
  });
});

describe("live items in the cache", () => {
  it("are written on top of every feed they belong on and counted once", () => {
    const cache = new QueryClient();
    const everything = ACTIVITY_KEYS.feed(ALL_ACTIVITY);
    const otherKind = ACTIVITY_KEYS.feed({ ...ALL_ACTIVITY, kind: "invoice.changed" });
    cache.setQueryData(everything, feed([item("a1")]));
    cache.setQueryData(otherKind, feed([]));
    cache.setQueryData(ACTIVITY_KEYS.unread, 1);
    const recent = new RecentItems();
    for (const heard of [item("a2"), item("a2")]) {
      if (recent.firstTime(heard.id)) addNewItem(cache, heard);
    }
    expect(ids(cache.getQueryData<Feed>(everything))).toEqual(["a2", "a1"]);
    expect(ids(cache.getQueryData<Feed>(otherKind))).toEqual([]);
    expect(cache.getQueryData(ACTIVITY_KEYS.unread)).toBe(2);
  });

  it("ask for the unread count again, which may already have held them", async () => {
    const cache = new QueryClient();
    cache.setQueryData(ACTIVITY_KEYS.unread, 1);
    addNewItem(cache, item("a1"));
    await vi.waitFor(() => expect(cache.getQueryState(ACTIVITY_KEYS.unread)?.isInvalidated).toBe(true));
  });

  it("have a feed being fetched fetched again, not written into the older answer on its way", async () => {
    const cache = new QueryClient();
    const { fetches, askedAgain } = watchedFeed(cache);
    expect(fetches).toHaveLength(1);
    addNewItem(cache, item("a2"));
    expect(await askedAgain()).toEqual(["a2", "a1"]);
  });

  it("forget the oldest ids past their size", () => {
    const recent = new RecentItems(2);
    expect(["a1", "a2", "a1", "a3", "a1"].map((id) => recent.firstTime(id))).toEqual([true, true, false, true, true]);
  });

  it("are read from activity.item events only", () => {
    const data = JSON.stringify(item("a1"));
    expect(activityItem({ event: "activity.item", id: "a1", data })?.id).toBe("a1");
    expect(activityItem({ event: "error", id: undefined, data: '{"code":"session_revoked"}' })).toBeNull();
  });
});

describe("the live feed's follower", () => {
  it("has the feeds and the count fetched again each time the stream is live", async () => {
    const cache = new QueryClient();
    const everything = ACTIVITY_KEYS.feed(ALL_ACTIVITY);
    const follower = liveFeedFollower(cache);
    const invalidated = () => [everything, ACTIVITY_KEYS.unread].map((key) => cache.getQueryState(key)?.isInvalidated);
    for (const liveness of ["connecting", "live", "reconnecting", "live"] as const) {
      cache.setQueryData(everything, feed([item("a1")]));
      cache.setQueryData(ACTIVITY_KEYS.unread, 1);
      follower.onLiveness(liveness);
      if (liveness === "live") await vi.waitFor(() => expect(invalidated()).toEqual([true, true]));
      else expect(invalidated()).toEqual([false, false]);
    }
  });

  it("asks again for a first page still on its way when the stream opens", async () => {
    const cache = new QueryClient();
    const { askedAgain } = watchedFeed(cache);
    liveFeedFollower(cache).onLiveness("live");
    expect(await askedAgain()).toEqual(["a2", "a1"]);
  });

  it("takes an item heard twice once", () => {
    const cache = new QueryClient();
    cache.setQueryData(ACTIVITY_KEYS.unread, 0);
    const follower = liveFeedFollower(cache);
    follower.onEvent(item("a1"));
    follower.onEvent(item("a1"));
    expect(cache.getQueryData(ACTIVITY_KEYS.unread)).toBe(1);
  });
});

describe("arrivals", () => {
  it("are the items on top that were not shown before", () => {
    const now = [item("a4"), item("a3"), item("a2")];
    expect(arrivedOnTop(null, now)).toEqual([]);
    expect(arrivedOnTop(["a2"], now).map((arrived) => arrived.id)).toEqual(["a4", "a3"]);
    expect(arrivedOnTop(["a4", "a3", "a2"], [...now, item("a1")])).toEqual([]);
    expect(arrivedOnTop([], [item("a1")]).map((arrived) => arrived.id)).toEqual(["a1"]);
  });

  it("are announced with the latest one's summary", () => {
    expect(arrivalWords([item("a2")])).toBe("New activity: summary a2");
    expect(arrivalWords([item("a3"), item("a2")])).toBe("2 new activity items. The latest: summary a3");
  });
});
