// Live billing on the page: the stream's events written into the cached queries as they arrive.
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { openStream } from "../api/events";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "../account/me";
import { FEATURE_KEYS } from "../features/features";
import { useSessionStatus } from "../session/session";
import { useNotify } from "../ui/toasts";
import { abortableWait, type Liveness } from "../api/follow";
import { followBillingStream, type BillingEvent } from "./stream";
import { readMeter } from "./usage";

export const BILLING_KEYS = {
  subscription: ["billing", "subscription"],
  usage: ["billing", "usage"],
  invoices: ["billing", "invoices"],
  plans: ["billing", "plans"],
} as const;

function openBillingStream(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return openStream(api.GET("/api/v1/billing/stream", { parseAs: "stream", signal }));
}

function apply(event: BillingEvent, cache: QueryClient, notify: (title: string, description?: string) => void) {
  if (event.event === "subscription.changed") {
    cache.setQueryData(BILLING_KEYS.subscription, event.data);
    void cache.invalidateQueries({ queryKey: BILLING_KEYS.usage });
    void cache.invalidateQueries({ queryKey: ACCOUNT_KEYS.me });
  } else if (event.event === "invoice.changed") {
    void cache.invalidateQueries({ queryKey: BILLING_KEYS.invoices });
  } else if (event.event === "entitlements.updated") {
    void cache.invalidateQueries({ queryKey: FEATURE_KEYS.mine });
  } else if (event.event === "usage.threshold") {
    void cache.invalidateQueries({ queryKey: BILLING_KEYS.usage });
    notify(`${event.data.percent}% of this period's ${event.data.meter} used`, readMeter(event.data).text);
  }
}

/** Follows the billing stream while the person is signed in and the page is open; its liveness. */
export function useBillingStream(): Liveness {
  const cache = useQueryClient();
  const notify = useNotify();
  const signedIn = useSessionStatus() === "signed-in";
  const [liveness, setLiveness] = useState<Liveness>("connecting");
  useEffect(() => {
    if (!signedIn) return;
    const stop = new AbortController();
    void followBillingStream(
      {
        open: openBillingStream,
        onEvent: (event) => apply(event, cache, notify),
        onLiveness: setLiveness,
        wait: abortableWait,
      },
      stop.signal,
    );
    return () => stop.abort();
  }, [signedIn, cache, notify]);
  return liveness;
}
