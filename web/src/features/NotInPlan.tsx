// What a screen says where the tenant's plan lacks a feature: why, and where the plans are compared.
import { Link } from "react-router";
import { FOCUS_RING } from "../ui/Button";
import { featureName } from "../pricing/plans";

export function NotInPlan({ feature, what }: { feature: string; what: string }) {
  return (
    <div
      role="note"
      data-testid={`not-in-plan-${feature}`}
      className="flex flex-col items-start gap-1 rounded-md border border-slate-300 bg-slate-50 p-3 text-sm dark:border-slate-600 dark:bg-slate-800"
    >
      <p>
        {what} needs a plan that includes {featureName(feature).toLowerCase()}, and yours does not.
      </p>
      <Link to="/billing" className={`font-medium text-indigo-700 underline dark:text-indigo-300 ${FOCUS_RING}`}>
        Compare plans
      </Link>
    </div>
  );
}
