// The session in this tab: the access token in memory only, renewed before it expires from the
// HttpOnly refresh cookie (which survives a reload); nothing is ever written to web storage.
import { useSyncExternalStore } from "react";
import { RefreshSchedule, singleFlight, type Timers, withRefreshLock } from "./refresh";

export type SessionStatus = "unknown" | "signed-in" | "signed-out";

export interface Tokens {
  access_token: string;
  expires_in: number;
}

/** Exchanges the refresh cookie for new tokens; null when there is no session to renew. */
export type Renewal = () => Promise<Tokens | null>;

/** The person an access token speaks for (its ``sub`` claim), or null when it cannot be read. */
export function subjectOf(accessToken: string): string | null {
  try {
    const payload = (accessToken.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    const sub = typeof claims === "object" && claims !== null ? (claims as { sub?: unknown }).sub : undefined;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

export class Session {
  private token: string | null = null;
  private subject: string | null = null;
  private lifetime = 0;
  private current: SessionStatus = "unknown";
  private readonly listeners = new Set<() => void>();
  private readonly endings = new Set<() => void>();
  private readonly arrivals = new Set<() => void>();
  private readonly schedule: RefreshSchedule;
  private renewal: Renewal = async () => null;
  readonly renew: () => Promise<boolean>;

  constructor(timers?: Timers) {
    this.schedule = new RefreshSchedule(async () => ((await this.renew()) ? this.lifetime : null), timers);
    this.renew = singleFlight(() => withRefreshLock(() => this.runRenewal()));
  }

  /** How tokens are renewed (the API client's refresh call), set once at start-up. */
  renewWith(renewal: Renewal): void {
    this.renewal = renewal;
  }

  accessToken(): string | null {
    return this.token;
  }

  status(): SessionStatus {
    return this.current;
  }

  /** The person signed in (the access token's subject), or null when no one is. */
  person(): string | null {
    return this.current === "signed-in" ? this.subject : null;
  }

  /** Tokens from a login, registration or refresh: keep the access token, plan its renewal. */
  start(tokens: Tokens): void {
    this.token = tokens.access_token;
    this.subject = subjectOf(tokens.access_token);
    this.lifetime = tokens.expires_in;
    this.schedule.plan(tokens.expires_in);
    this.set("signed-in");
  }

  /** Forget everything in this tab (after logout, or when the server refused the session). */
  end(): void {
    this.token = null;
    this.subject = null;
    this.schedule.cancel();
    this.set("signed-out");
    for (const listener of this.endings) listener();
  }

  /** Runs ``listener`` each time the session ends, however it ends (logout, refusal, failed renewal). */
  onEnd(listener: () => void): void {
    this.endings.add(listener);
  }

  /** Runs ``listener`` when a renewal brings another person's session (a login in another tab
   * replaced the refresh cookie): what this tab holds belongs to someone else. */
  onAnotherPerson(listener: () => void): void {
    this.arrivals.add(listener);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private async runRenewal(): Promise<boolean> {
    const before = this.subject;
    const tokens = await this.renewal().catch(() => null);
    if (!tokens) {
      this.end();
      return false;
    }
    this.start(tokens);
    if (before !== null && this.subject !== before) for (const listener of this.arrivals) listener();
    return true;
  }

  private set(status: SessionStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener();
  }
}

export const session = new Session();

/** The session's status, re-rendering when it changes. */
export function useSessionStatus(): SessionStatus {
  return useSyncExternalStore(session.subscribe, () => session.status());
}

/** The person signed in in this tab (null when no one is), re-rendering when it changes. */
export function useSessionPerson(): string | null {
  return useSyncExternalStore(session.subscribe, () => session.person());
}
