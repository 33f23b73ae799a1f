import { describe, expect, it } from "vitest";
import { describeProblem, networkProblem, ProblemError, toProblem, unwrap } from "./problem";

function response(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

describe("toProblem", () => {
  it("keeps a problem document's fields and the request id", () => {
    const body = { type: "urn:x", title: "Conflict", status: 409, detail: "Email taken.", code: "email_taken" };
    const problem = toProblem(body, response(409, { "X-Request-ID": "req_1" }));
    expect(problem).toMatchObject({ status: 409, code: "email_taken", detail: "Email taken.", requestId: "req_1" });
    expect(describeProblem(problem)).toBe("Email taken. (request req_1)");
  });

  it("puts a 422's errors next to their fields, without the body prefix", () => {
    const body = {
      status: 422,
      title: "Invalid",
      detail: "The request is not valid.",
      code: "validation_failed",
      errors: [
        { loc: ["body", "email"], msg: "not an email", type: "value_error" },
        { loc: ["body", "email"], msg: "second message", type: "value_error" },
        { loc: ["body", "tokens", "refresh_token"], msg: "missing", type: "missing" },
      ],
    };
    expect(toProblem(body, response(422)).fieldErrors).toEqual({
      email: "not an email",
      "tokens.refresh_token": "missing",
    });
  });

  it("reads Retry-After of a 429", () => {
    expect(toProblem({}, response(429, { "Retry-After": "7" })).retryAfter).toBe(7);
  });

  it("turns a body that is not a problem into a readable one", () => {
    const problem = toProblem("<html>bad gateway</html>", response(502));
    expect(problem).toMatchObject({ status: 502, code: "http_error" });
    expect(problem.detail).toContain("502");
  });

  it("has a problem for no answer at all", () => {
    expect(networkProblem()).toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("unwrap", () => {
  it("answers the data of a success", () => {
    expect(unwrap({ data: { ok: true }, response: response(200) })).toEqual({ ok: true });
  });

  it("throws a ProblemError for an error", () => {
    const failed = () => unwrap({ error: { detail: "No.", code: "forbidden" }, response: response(403) });
    expect(failed).toThrow(ProblemError);
    expect(failed).toThrow("No.");
  });
});
