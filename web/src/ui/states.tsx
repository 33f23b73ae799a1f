// Loading, empty and error states: every page shows one of these instead of a blank space.
import type { ReactNode } from "react";
import { describeProblem, networkProblem, ProblemError, type Problem } from "../api/problem";
import { Button } from "./Button";

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <p role="status" className="py-8 text-center text-slate-600 dark:text-slate-400">
      {label}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 p-8 text-center dark:border-slate-600">
      <p className="font-medium">{title}</p>
      {children && <div className="mt-2 text-slate-600 dark:text-slate-400">{children}</div>}
    </div>
  );
}

/** The Problem behind any error a query or mutation raised. */
export function problemOf(error: unknown): Problem {
  return error instanceof ProblemError ? error.problem : networkProblem();
}

export function ProblemMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div
      role="alert"
      className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
    >
      {describeProblem(problemOf(error))}
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="flex flex-col items-start gap-3 py-4">
      <ProblemMessage error={error} />
      {retry && (
        <Button look="secondary" onClick={retry}>
          Try again
        </Button>
      )}
    </div>
  );
}
