// How live a page is (the server-sent events it follows), in words, as a polite status line.
import type { Liveness } from "../api/follow";

const LIVENESS_WORDS: Record<Liveness, string> = {
  connecting: "Connecting for live updates…",
  live: "Live: changes show here as they happen.",
  reconnecting: "Live updates interrupted; reconnecting…",
};

export function LiveStatus({ liveness }: { liveness: Liveness }) {
  return (
    <p role="status" className="text-sm text-slate-600 dark:text-slate-400">
      {LIVENESS_WORDS[liveness]}
    </p>
  );
}
