// The team's seats in words, one line that is there from the page's first render (saying they are
// being counted, or could not be), so its answer arriving never moves the invite button below it.
import type { Plan } from "../pricing/plans";

/** What is known of the seats: members counted and the team's plan, each once loaded. */
export interface SeatsKnown {
  used: number | undefined;
  plan: Pick<Plan, "name" | "limits"> | undefined;
  /** The members, the plans or the subscription could not be loaded. */
  failed: boolean;
}

/** "2 of 3 seats used on Starter"; while loading or after a failure, a line of the same kind. */
export function seatsWords({ used, plan, failed }: SeatsKnown): string {
  if (used !== undefined && plan) {
    const seats = plan.limits.seats;
    return seats == null ? `${used} seats used, no limit on ${plan.name}` : `${used} of ${seats} seats used on ${plan.name}`;
  }
  return failed ? "Seats used: not known right now." : "Counting the seats used…";
}
