// What choosing another plan does: a paid plan from the free one goes through Stripe Checkout,
// any other move changes the paid subscription (prorated; the free plan at the period's end).
import type { Plan } from "../pricing/plans";
import type { Subscription } from "./usage";

export type PlanMove =
  | { kind: "checkout"; label: string }
  | { kind: "change"; label: string; confirm: string };

/** The move from ``current`` to ``target``, or null for the plan already in force. */
export function planMove(current: Plan, subscription: Subscription, target: Plan): PlanMove | null {
  if (target.code === current.code) {
    if (!subscription.cancel_at_period_end) return null;
    return { kind: "change", label: `Keep ${target.name}`, confirm: `${target.name} renews as before.` };
  }
  const label = `${target.price_cents > current.price_cents ? "Upgrade" : "Downgrade"} to ${target.name}`;
  if (current.price_cents === 0) return { kind: "checkout", label };
  if (target.price_cents === 0) {
    return {
      kind: "change",
      label,
      confirm: `${current.name} stays until the end of this period; then the team is on ${target.name}.`,
    };
  }
  return {
    kind: "change",
    label,
    confirm: `The team moves to ${target.name} now; the difference for the rest of this period is prorated.`,
  };
}

/** How a Checkout return (``?checkout=`` on /billing) reads, or null when there was none;
 * ``paidPlan`` names the paid plan in force once Stripe's confirmation has arrived. */
export function checkoutOutcome(param: string | null, paidPlan: string | null): { title: string; detail: string } | null {
  if (param === "success") {
    const detail = paidPlan
      ? `Your team is on ${paidPlan} now.`
      : "Your new plan shows here as soon as Stripe confirms it.";
    return { title: "Payment received", detail };
  }
  if (param === "canceled") return { title: "Checkout canceled", detail: "Your plan did not change." };
  return null;
}
