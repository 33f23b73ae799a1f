// Billing: the plan in force, this period's usage, other plans, the Stripe portal and invoices,
// kept current by the billing stream (a paid upgrade shows without a reload).
import { useMutation } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { useMe } from "../account/me";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Page, Section } from "../ui/Layout";
import { LiveStatus } from "../ui/LiveStatus";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { Invoices } from "./Invoices";
import { useBillingStream } from "./live";
import { CurrentPlan, Meters } from "./Overview";
import { checkoutOutcome } from "./planChange";
import { PlanChoices } from "./PlanChoices";
import { usePlans, useSubscription } from "./queries";

function CheckoutReturn() {
  const [params] = useSearchParams();
  const plans = usePlans();
  const subscription = useSubscription();
  const current = plans.data?.find((plan) => plan.code === subscription.data?.plan);
  const outcome = checkoutOutcome(params.get("checkout"), current && current.price_cents > 0 ? current.name : null);
  if (!outcome) return null;
  return (
    <div role="status" className="rounded-md border border-indigo-300 bg-indigo-50 p-4 text-indigo-900 dark:border-indigo-700 dark:bg-indigo-950 dark:text-indigo-100">
      <p className="font-semibold">{outcome.title}</p>
      <p className="text-sm">{outcome.detail}</p>
    </div>
  );
}

function Portal() {
  const open = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/billing/portal")),
    onSuccess: (portal) => window.location.assign(portal.url),
  });
  return (
    <div className="flex flex-col items-start gap-3">
      <p className="text-sm">Update the card, the billing address or tax details in Stripe's customer portal.</p>
      <ProblemMessage error={open.error} />
      <Button look="secondary" busy={open.isPending} onClick={() => open.mutate()}>
        Open the billing portal
      </Button>
    </div>
  );
}

function PlanSections({ allowed }: { allowed: boolean }) {
  const plans = usePlans();
  const subscription = useSubscription();
  if (plans.isPending || subscription.isPending) return <Loading label="Loading your plan" />;
  if (plans.isError) return <ErrorState error={plans.error} retry={() => void plans.refetch()} />;
  if (subscription.isError) return <ErrorState error={subscription.error} retry={() => void subscription.refetch()} />;
  const current = plans.data.find((plan) => plan.code === subscription.data.plan);
  if (!current) return <Empty title={`Your plan (${subscription.data.plan}) is no longer on offer.`} />;
  return (
    <>
      <Section id="current-plan" title="Current plan">
        <CurrentPlan plan={current} subscription={subscription.data} />
      </Section>
      <Section id="usage" title="Usage">
        <Meters />
      </Section>
      <Section id="change-plan" title="Change plan">
        <PlanChoices plans={plans.data} current={current} subscription={subscription.data} allowed={allowed} />
      </Section>
    </>
  );
}

export function BillingPage() {
  const liveness = useBillingStream();
  const me = useMe();
  const allowed = me.data?.scopes.includes("billing:manage") ?? false;
  return (
    <Page title="Billing" lead="Your team's plan, usage and invoices.">
      <LiveStatus liveness={liveness} />
      <CheckoutReturn />
      <PlanSections allowed={allowed} />
      {allowed && (
        <Section id="payment" title="Payment details">
          <Portal />
        </Section>
      )}
      <Section id="invoices" title="Invoices">
        <Invoices />
      </Section>
    </Page>
  );
}
