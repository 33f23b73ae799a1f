// Every failed API call as one Problem (RFC 9457 fields, the request id, field errors of a 422): what pages show.

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  requestId: string | null;
  retryAfter: number | null;
  /** A 422's messages by field name (`email`, `tokens.refresh_token`), the first per field. */
  fieldErrors: Record<string, string>;
}

/** Thrown by {@link unwrap} so TanStack Query and pages see a Problem, never a raw response. */
export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail);
    this.name = "ProblemError";
    this.problem = problem;
  }
}

const LOCATIONS = new Set(["body", "query", "path", "header"]);

interface FieldError {
  loc: unknown[];
  msg: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFieldError(value: unknown): value is FieldError {
  return isRecord(value) && Array.isArray(value.loc) && typeof value.msg === "string";
}

function fieldName(loc: unknown[]): string {
  const parts = loc.map(String);
  return (LOCATIONS.has(parts[0] ?? "") ? parts.slice(1) : parts).join(".");
}

/** The field errors of a 422 body, by field; anything else gives none. */
export function fieldErrors(errors: unknown): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const error of Array.isArray(errors) ? errors.filter(isFieldError) : []) {
    const name = fieldName(error.loc);
    byField[name] ??= error.msg;
  }
  return byField;
}

function retryAfter(response: Response | undefined): number | null {
  const value = Number.parseInt(response?.headers.get("Retry-After") ?? "", 10);
  return Number.isFinite(value) ? value : null;
}

function text(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}

/** The Problem for an error body (a problem document or anything else) and its response. */
export function toProblem(body: unknown, response: Response | undefined): Problem {
  const status = response?.status ?? 0;
  const problem = isRecord(body) ? body : {};
  const title = text(problem.title, response?.statusText || "Request failed");
  return {
    status: typeof problem.status === "number" ? problem.status : status,
    code: text(problem.code, "http_error"),
    title,
    detail: text(problem.detail, `The server answered ${status} ${title}.`),
    requestId: response?.headers.get("X-Request-ID") ?? null,
    retryAfter: retryAfter(response),
    fieldErrors: fieldErrors(problem.errors),
  };
}

/** The Problem for a request that got no answer at all (offline, DNS, a dropped connection). */
export function networkProblem(): Problem {
  return {
    status: 0,
    code: "network_error",
    title: "No connection",
    detail: "The server could not be reached. Check your connection and try again.",
    requestId: null,
    retryAfter: null,
    fieldErrors: {},
  };
}

/** A problem as one readable sentence, with the request id support will ask for. */
export function describeProblem(problem: Problem): string {
  return problem.requestId ? `${problem.detail} (request ${problem.requestId})` : problem.detail;
}

/** The data of an openapi-fetch result, or a ProblemError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ProblemError(toProblem(result.error, result.response));
  }
  return result.data as T;
}
