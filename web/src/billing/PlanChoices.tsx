// The other plans, each with its move: Checkout for a first paid plan, a confirmed change otherwise.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { limit, price, type Plan } from "../pricing/plans";
import { Button } from "../ui/Button";
import { ConfirmDialog } from "../ui/dialogs";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { BILLING_KEYS } from "./live";
import { planMove, type PlanMove } from "./planChange";
import type { Subscription } from "./usage";

interface Choice {
  plan: Plan;
  move: PlanMove;
}

function useMoves() {
  const cache = useQueryClient();
  const notify = useNotify();
  const checkout = useMutation({
    mutationFn: async (plan: Plan) =>
      unwrap(await api.POST("/api/v1/billing/subscription", { body: { plan: plan.code } })),
    onSuccess: (result) => {
      if (result.checkout_url) window.location.assign(result.checkout_url);
      else if (result.subscription) cache.setQueryData(BILLING_KEYS.subscription, result.subscription);
    },
  });
  const change = useMutation({
    mutationFn: async (plan: Plan) =>
      unwrap(await api.POST("/api/v1/billing/subscription/change", { body: { plan: plan.code } })),
    onSuccess: (subscription, plan) => {
      cache.setQueryData(BILLING_KEYS.subscription, subscription);
      void cache.invalidateQueries({ queryKey: BILLING_KEYS.usage });
      notify("Plan changed", subscription.cancel_at_period_end ? `${plan.name} from the next period` : undefined);
    },
  });
  return { checkout, change };
}

type Moves = ReturnType<typeof useMoves>;

/** The sentence that says why the plan's buttons are disabled, for the buttons to point to. */
const REASON_ID = "plan-change-reason";

/** The plan a move is under way for, if any. */
function pendingPlan({ checkout, change }: Moves): Plan | undefined {
  if (checkout.isPending) return checkout.variables;
  return change.isPending ? change.variables : undefined;
}

function PlanOption({ choice, allowed, moves }: { choice: Choice; allowed: boolean; moves: Moves }) {
  const { plan, move } = choice;
  const action = (onClick?: () => void) => (
    <Button
      look={move.label.startsWith("Upgrade") ? "primary" : "secondary"}
      disabled={!allowed}
      className={allowed ? "" : "cursor-not-allowed opacity-60"}
      aria-describedby={allowed ? undefined : REASON_ID}
      busy={pendingPlan(moves)?.code === plan.code}
      onClick={onClick}
    >
      {move.label}
    </Button>
  );
  return (
    <li className="flex flex-col gap-2 rounded-md border border-slate-200 p-4 sm:flex-row sm:items-center sm:justify-between dark:border-slate-700">
      <div>
        <p className="font-semibold">
          {plan.price_cents > 0 ? `${plan.name} · ${price(plan)}` : plan.name}
        </p>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {limit(plan.limits.messages, "messages")}, {limit(plan.limits.tokens, "tokens")},{" "}
          {limit(plan.limits.seats, "seats")}
        </p>
      </div>
      {move.kind === "checkout" || !allowed ? (
        action(() => moves.checkout.mutate(plan))
      ) : (
        <ConfirmDialog
          title={`${move.label}?`}
          description={move.confirm}
          action={move.label}
          trigger={action()}
          onConfirm={() => moves.change.mutate(plan)}
        />
      )}
    </li>
  );
}

interface PlanChoicesProps {
  plans: Plan[];
  current: Plan;
  subscription: Subscription;
  /** Whether this person may change the plan (owners and admins: billing:manage). */
  allowed: boolean;
}

export function PlanChoices({ plans, current, subscription, allowed }: PlanChoicesProps) {
  const moves = useMoves();
  const choices = plans.flatMap((plan) => {
    const move = planMove(current, subscription, plan);
    return move ? [{ plan, move }] : [];
  });
  return (
    <div className="flex flex-col gap-3">
      {!allowed && (
        <p id={REASON_ID} className="text-sm">
          Only the team's owners and admins can change the plan.
        </p>
      )}
      <ProblemMessage error={moves.checkout.error ?? moves.change.error} />
      <ul aria-label="Other plans" className="flex flex-col gap-3">
        {choices.map((choice) => (
          <PlanOption key={choice.plan.code} choice={choice} allowed={allowed} moves={moves} />
        ))}
      </ul>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        Paid plans are paid through Stripe Checkout; you come back here when it is done.
      </p>
    </div>
  );
}
