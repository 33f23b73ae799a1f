// The live feed: GET /activity/stream followed while the person is signed in (once per browser, its
// tabs sharing it), each new item written on top of every cached feed it belongs on and counted as
// unread, each item once.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { openStream } from "../api/events";
import { abortableWait, type Liveness } from "../api/follow";
import { browserTabs, followSharedStream } from "../api/sharedStream";
import { api } from "../app/api";
import { useSessionPerson, useSessionStatus } from "../session/session";
import { activityItem, liveFeedFollower } from "./feed";

function openActivityStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return openStream(api.GET("/api/v1/activity/stream", { parseAs: "stream", signal }));
}

/** Follows the live feed while the person is signed in, one stream per person and browser; its
 * liveness. What came before the stream was (again) live is fetched again once it is, in each tab. */
export function useActivityStream(): Liveness {
  const cache = useQueryClient();
  const signedIn = useSessionStatus() === "signed-in";
  const person = useSessionPerson();
  const [liveness, setLiveness] = useState<Liveness>("connecting");
  useEffect(() => {
    if (!signedIn) return;
    const stop = new AbortController();
    const follower = liveFeedFollower(cache);
    void followSharedStream(
      `agentbus-activity-stream:${person}`,
      {
        open: openActivityStream,
        wait: abortableWait,
        onEvent: follower.onEvent,
        onLiveness: (now) => {
          setLiveness(now);
          follower.onLiveness(now);
        },
      },
      activityItem,
      stop.signal,
      person ? browserTabs() : null,
    );
    return () => stop.abort();
  }, [signedIn, person, cache]);
  return liveness;
}
