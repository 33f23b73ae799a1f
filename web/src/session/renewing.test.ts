import { describe, expect, it, vi } from "vitest";
import { renewingFetch } from "./renewing";

const URL_ME = "https://agentbus.example/api/v1/auth/me";

function problem(status: number, code: string): Response {
  return new Response(JSON.stringify({ status, code, title: "t", detail: "d" }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

function setUp(answers: Response[], renewed: boolean) {
  const seen: Request[] = [];
  const fetchImpl = vi.fn(async (input: RequestInfo | URL) => {
    seen.push(input as Request);
    return answers.shift() ?? new Response("{}");
  });
  const session = { renew: vi.fn(async () => renewed) };
  const sign = (request: Request) => request.headers.set("Authorization", "Bearer new");
  const fetching = renewingFetch(session, sign, fetchImpl as typeof fetch);
  return { fetching, seen, session };
}

describe("renewingFetch", () => {
  it("renews a refused access token once and sends the request again, signed anew", async () => {
    const { fetching, seen, session } = setUp([problem(401, "invalid_token"), new Response('{"ok":1}')], true);
    const request = new Request(URL_ME, { method: "POST", body: '{"a":1}', headers: { Authorization: "Bearer old" } });
    const response = await fetching(request);
    expect(response.status).toBe(200);
    expect(session.renew).toHaveBeenCalledTimes(1);
    expect(seen).toHaveLength(2);
    const [, again] = seen;
    expect(again?.headers.get("Authorization")).toBe("Bearer new");
    expect(await again?.text()).toBe('{"a":1}');
  });

  it("a missing token is renewed too (the tab had none yet)", async () => {
    const { fetching, session } = setUp([problem(401, "unauthorized"), new Response("{}")], true);
    expect((await fetching(new Request(URL_ME))).status).toBe(200);
    expect(session.renew).toHaveBeenCalledTimes(1);
  });

  it("renews at most once: a second refusal is the answer", async () => {
    const { fetching, seen, session } = setUp([problem(401, "invalid_token"), problem(401, "invalid_token")], true);
    expect((await fetching(new Request(URL_ME))).status).toBe(401);
    expect(session.renew).toHaveBeenCalledTimes(1);
    expect(seen).toHaveLength(2);
  });

  it("answers the refusal when the renewal fails (the session has ended)", async () => {
    const { fetching, seen } = setUp([problem(401, "invalid_token")], false);
    const response = await fetching(new Request(URL_ME));
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe("invalid_token");
    expect(seen).toHaveLength(1);
  });

  it("a wrong code, password or refresh token is the page's answer, never a renewal", async () => {
    for (const code of ["invalid_mfa_code", "invalid_credentials", "invalid_mfa_challenge", "invalid_refresh_token"]) {
      const { fetching, session } = setUp([problem(401, code)], true);
      expect((await fetching(new Request("https://agentbus.example/api/v1/auth/mfa/totp/verify"))).status).toBe(401);
      expect(session.renew).not.toHaveBeenCalled();
    }
  });

  it("the renewal's own call is never renewed", async () => {
    const { fetching, session } = setUp([problem(401, "invalid_token")], true);
    await fetching(new Request("https://agentbus.example/api/v1/auth/refresh", { method: "POST" }));
    expect(session.renew).not.toHaveBeenCalled();
  });

  it("other answers pass untouched", async () => {
    const { fetching, session } = setUp([problem(403, "forbidden"), new Response("not json", { status: 401 })], true);
    expect((await fetching(new Request(URL_ME))).status).toBe(403);
    expect((await fetching(new Request(URL_ME))).status).toBe(401);
    expect(session.renew).not.toHaveBeenCalled();
  });
});
