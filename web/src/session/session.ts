// The session in this tab: the access token in memory only, renewed before it expires from the
// HttpOnly refresh cookie (which survives a reload); nothing is ever written to web storage.
import { useSyncExternalStore } from "react";
import { RefreshSchedule, singleFlight, withRefreshLock } from "./refresh";

export type SessionStatus = "unknown" | "signed-in" | "signed-out";

export interface Tokens {
  access_token: string;
  expires_in: number;
}

/** Exchanges the refresh cookie for new tokens; null when there is no session to renew. */
export type Renewal = () => Promise<Tokens | null>;

export class Session {
  private token: string | null = null;
  private lifetime = 0;
  private current: SessionStatus = "unknown";
  private readonly listeners = new Set<() => void>();
  private readonly schedule: RefreshSchedule;
  private renewal: Renewal = async () => null;
  readonly renew: () => Promise<boolean>;

  constructor() {
    this.schedule = new RefreshSchedule(async () => ((await this.renew()) ? this.lifetime : null));
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

  /** Tokens from a login, registration or refresh: keep the access token, plan its renewal. */
  start(tokens: Tokens): void {
    this.token = tokens.access_token;
    this.lifetime = tokens.expires_in;
    this.schedule.plan(tokens.expires_in);
    this.set("signed-in");
  }

  /** Forget everything in this tab (after logout, or when the server refused the session). */
  end(): void {
    this.token = null;
    this.schedule.cancel();
    this.set("signed-out");
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private async runRenewal(): Promise<boolean> {
    const tokens = await this.renewal().catch(() => null);
    if (tokens) this.start(tokens);
    else this.end();
    return tokens !== null;
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
