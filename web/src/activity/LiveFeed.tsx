// The live feed followed once for the whole app while the person is signed in (the header's badge and
// the feed page share it), and how live it is, for the feed page to say.
import { createContext, use, type ReactNode } from "react";
import type { Liveness } from "../api/follow";
import { useActivityStream } from "./live";

const FeedLiveness = createContext<Liveness>("connecting");

export function LiveFeed({ children }: { children: ReactNode }) {
  return <FeedLiveness value={useActivityStream()}>{children}</FeedLiveness>;
}

/** How live the feed is now. */
export function useFeedLiveness(): Liveness {
  return use(FeedLiveness);
}
