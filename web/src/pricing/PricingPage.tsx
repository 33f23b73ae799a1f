// Pricing: the plan catalog from GET /billing/plans, public.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Page } from "../ui/Layout";
import { Empty, ErrorState, Loading } from "../ui/states";
import { featureName, limit, price, type Plan } from "./plans";

function PlanCard({ plan }: { plan: Plan }) {
  return (
    <article aria-labelledby={`plan-${plan.code}`} className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-6 dark:border-slate-800 dark:bg-slate-900">
      <h2 id={`plan-${plan.code}`} className="text-xl font-semibold">
        {plan.name}
      </h2>
      <p className="text-2xl font-bold">{price(plan)}</p>
      <ul className="flex list-disc flex-col gap-1 pl-5 text-sm">
        <li>{limit(plan.limits.messages, "messages")}</li>
        <li>{limit(plan.limits.tokens, "tokens")}</li>
        <li>{limit(plan.limits.seats, "seats")}</li>
        {(plan.features ?? []).map((feature) => (
          <li key={feature}>{featureName(feature)}</li>
        ))}
      </ul>
      <Button asChild className="mt-auto">
        <Link to="/register">Choose {plan.name}</Link>
      </Button>
    </article>
  );
}

export function PricingPage() {
  const plans = useQuery({
    queryKey: ["billing", "plans"],
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/plans")).items,
  });
  return (
    <Page title="Pricing" lead="Start free; upgrade when your team needs more.">
      {plans.isPending && <Loading label="Loading the plans" />}
      {plans.isError && <ErrorState error={plans.error} retry={() => void plans.refetch()} />}
      {plans.data?.length === 0 && <Empty title="No plans on offer yet." />}
      {plans.data && (
        <div className="grid gap-6 sm:grid-cols-2 lg:grid-cols-3">
          {plans.data.map((plan) => (
            <PlanCard key={plan.code} plan={plan} />
          ))}
        </div>
      )}
    </Page>
  );
}
