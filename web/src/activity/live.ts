// The live feed: GET /activity/stream followed while the person is signed in, each new item written
// on top of every cached feed it belongs on and counted as unread, each item once.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { openStream } from "../api/events";
import { abortableWait, followStream } from "../api/follow";
import { api } from "../app/api";
import { useSessionStatus } from "../session/session";
import { activityItem, liveFeedFollower } from "./feed";

function openActivityStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return openStream(api.GET("/api/v1/activity/stream", { parseAs: "stream", signal }));
}

/** Follows the live feed while the person is signed in. What came before the stream was (again)
 * live is fetched again once it is. */
export function useActivityStream(): void {
  const cache = useQueryClient();
  const signedIn = useSessionStatus() === "signed-in";
  useEffect(() => {
    if (!signedIn) return;
    const stop = new AbortController();
    void followStream(
      { open: openActivityStream, wait: abortableWait, ...liveFeedFollower(cache) },
      activityItem,
      stop.signal,
    );
    return () => stop.abort();
  }, [signedIn, cache]);
}
