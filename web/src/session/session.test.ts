import { describe, expect, it, vi } from "vitest";
import type { Timers } from "./refresh";
import { Session, subjectOf, type Tokens } from "./session";

const timers: Timers = { set: () => 1, clear: () => undefined };

function tokenFor(sub: string): Tokens {
  const claims = btoa(JSON.stringify({ sub, exp: 1 })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return { access_token: `eyJhbGciOiJFZERTQSJ9.${claims}.sig`, expires_in: 900 };
}

function sessionRenewingWith(...answers: (Tokens | null | Error)[]) {
  const session = new Session(timers);
  session.renewWith(async () => {
    const answer = answers.shift() ?? null;
    if (answer instanceof Error) throw answer;
    return answer;
  });
  const ended = vi.fn();
  const anotherPerson = vi.fn();
  session.onEnd(ended);
  session.onAnotherPerson(anotherPerson);
  return { session, ended, anotherPerson };
}

describe("subjectOf", () => {
  it("reads the person from an access token, null from anything else", () => {
    expect(subjectOf(tokenFor("u_1").access_token)).toBe("u_1");
    expect(subjectOf("not-a-token")).toBeNull();
  });
});

describe("Session.runRenewal", () => {
  it("a renewal keeps the new access token and the person signed in", async () => {
    const { session, ended } = sessionRenewingWith(tokenFor("u_1"));
    expect(await session.renew()).toBe(true);
    expect(session.status()).toBe("signed-in");
    expect(session.accessToken()).toBe(tokenFor("u_1").access_token);
    expect(ended).not.toHaveBeenCalled();
  });

  it("a renewal that finds no session, or fails, ends it and says so", async () => {
    for (const answer of [null, new Error("network")]) {
      const { session, ended } = sessionRenewingWith(answer);
      session.start(tokenFor("u_1"));
      expect(await session.renew()).toBe(false);
      expect(session.status()).toBe("signed-out");
      expect(session.accessToken()).toBeNull();
      expect(ended).toHaveBeenCalledTimes(1);
    }
  });

  it("a renewal bringing another person's session tells the app, the same person's does not", async () => {
    const { session, anotherPerson } = sessionRenewingWith(tokenFor("u_1"), tokenFor("u_2"));
    session.start(tokenFor("u_1"));
    await session.renew();
    expect(anotherPerson).not.toHaveBeenCalled();
    await session.renew();
    expect(anotherPerson).toHaveBeenCalledTimes(1);
    expect(session.accessToken()).toBe(tokenFor("u_2").access_token);
  });

  it("the first renewal after a reload is nobody's replacement", async () => {
    const { session, anotherPerson } = sessionRenewingWith(tokenFor("u_2"));
    await session.renew();
    expect(anotherPerson).not.toHaveBeenCalled();
  });

  it("every end is announced, a logout's too", () => {
    const { session, ended } = sessionRenewingWith();
    session.start(tokenFor("u_1"));
    session.end();
    expect(ended).toHaveBeenCalledTimes(1);
  });
});
