// The live feed: GET /activity/stream followed while the person is signed in, each new item written
// on top of every cached feed it belongs on and counted as unread, each item once.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { openStream } from "../api/events";
import { abortableWait, followStream, type Liveness } from "../api/follow";
import { api } from "../app/api";
import { useSessionStatus } from "../session/session";
import { ACTIVITY_KEYS, RecentItems, activityItem, addNewItem } from "./feed";

function openActivityStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return openStream(api.GET("/api/v1/activity/stream", { parseAs: "stream", signal }));
}

/** Follows the live feed while the person is signed in. Items missed while the stream was down
 * are fetched again once it is back. */
export function useActivityStream(): void {
  const cache = useQueryClient();
  const signedIn = useSessionStatus() === "signed-in";
  useEffect(() => {
    if (!signedIn) return;
    const stop = new AbortController();
    const recent = new RecentItems();
    let last: Liveness = "connecting";
    void followStream(
      {
        open: openActivityStream,
        onEvent: (item) => {
          if (recent.firstTime(item.id)) addNewItem(cache, item);
        },
        onLiveness: (liveness) => {
          if (last === "reconnecting" && liveness === "live") {
            void cache.invalidateQueries({ queryKey: ACTIVITY_KEYS.all });
          }
          last = liveness;
        },
        wait: abortableWait,
      },
      activityItem,
      stop.signal,
    );
    return () => stop.abort();
  }, [signedIn, cache]);
}
