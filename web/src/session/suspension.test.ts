import { afterEach, describe, expect, it } from "vitest";
import { checkTeamAgain, forgetSuspension, isTeamSuspended, refusesSuspendedTeam, watchingSuspension } from "./suspension";

function problem(status: number, code: string): Response {
  return new Response(JSON.stringify({ status, code, title: "Forbidden", detail: "No." }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

afterEach(forgetSuspension);

describe("refusesSuspendedTeam", () => {
  it("is true only for a 403 tenant_suspended", async () => {
    expect(await refusesSuspendedTeam(problem(403, "tenant_suspended"))).toBe(true);
    expect(await refusesSuspendedTeam(problem(403, "forbidden"))).toBe(false);
    expect(await refusesSuspendedTeam(problem(401, "tenant_suspended"))).toBe(false);
    expect(await refusesSuspendedTeam(new Response("not json", { status: 403 }))).toBe(false);
  });
});

describe("watchingSuspension", () => {
  it("hands every answer on, its body still readable", async () => {
    const fetchImpl = watchingSuspension(() => Promise.resolve(problem(403, "tenant_suspended")));
    const response = await fetchImpl("/api/v1/auth/me");
    expect(response.status).toBe(403);
    expect(((await response.json()) as { code: string }).code).toBe("tenant_suspended");
  });
});

describe("checkTeamAgain", () => {
  async function suspend(): Promise<void> {
    await watchingSuspension(() => Promise.resolve(problem(403, "tenant_suspended")))("/api/v1/auth/me");
  }

  it("forgets the suspension only once the team answers again", async () => {
    await suspend();
    expect(await checkTeamAgain(() => Promise.resolve(problem(403, "tenant_suspended")))).toBe("still-suspended");
    expect(isTeamSuspended()).toBe(true);
    expect(await checkTeamAgain(() => Promise.resolve(new Response("{}", { status: 200 })))).toBe("active");
    expect(isTeamSuspended()).toBe(false);
  });

  it("keeps the suspension when the check itself fails", async () => {
    await suspend();
    expect(await checkTeamAgain(() => Promise.reject(new TypeError("offline")))).toBe("failed");
    expect(await checkTeamAgain(() => Promise.resolve(problem(503, "service_unavailable")))).toBe("failed");
    expect(isTeamSuspended()).toBe(true);
  });
});
