// When and how the access token is renewed: ahead of its expiry, one refresh at a time per browser.

/** Seconds before expiry the access token is renewed (clocks and slow networks need a margin). */
export const REFRESH_LEAD_SECONDS = 60;

/** Milliseconds from now to renew a token valid ``expiresIn`` seconds: ``lead`` before its end,
 * and never before half its life (a short-lived token is not renewed at once, in a loop). */
export function refreshDelayMs(expiresIn: number, lead: number = REFRESH_LEAD_SECONDS): number {
  return Math.max(expiresIn / 2, expiresIn - lead) * 1000;
}

export interface Timers {
  set(callback: () => void, ms: number): number;
  clear(handle: number): void;
}

const browserTimers: Timers = {
  set: (callback, ms) => window.setTimeout(callback, ms),
  clear: (handle) => window.clearTimeout(handle),
};

/** Renews the session before each access token expires, for as long as renewals succeed.
 * ``renew`` answers the new token's lifetime in seconds, or null when the session is over. */
export class RefreshSchedule {
  private handle: number | null = null;
  private readonly renew: () => Promise<number | null>;
  private readonly timers: Timers;

  constructor(renew: () => Promise<number | null>, timers: Timers = browserTimers) {
    this.renew = renew;
    this.timers = timers;
  }

  /** Renew ahead of the expiry of a token valid ``expiresIn`` seconds (replaces any plan). */
  plan(expiresIn: number): void {
    this.cancel();
    this.handle = this.timers.set(() => void this.fire(), refreshDelayMs(expiresIn));
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
  }

  private async fire(): Promise<void> {
    this.handle = null;
    const expiresIn = await this.renew().catch(() => null);
    if (expiresIn !== null) this.plan(expiresIn);
  }
}

/** ``task`` shared by concurrent callers: a second caller waits for the run in flight instead of
 * starting another (a refresh token is spent once; a second use revokes the whole session). */
export function singleFlight<T>(task: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= task().finally(() => {
      running = null;
    });
    return running;
  };
}

/** ``task`` run while holding the browser-wide refresh lock, so two tabs never spend the same
 * refresh cookie at once (Web Locks; where they are missing, the tab runs it alone). */
export async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return task();
  return locks.request("agentbus-refresh", task);
}
