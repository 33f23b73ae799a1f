// How a plan of the catalog reads: its price per interval, limits and features in words.
import type { components } from "../api/schema";

export type Plan = components["schemas"]["PlanView"];

export function price(plan: Plan): string {
  if (plan.price_cents === 0) return "Free";
  const amount = new Intl.NumberFormat(undefined, { style: "currency", currency: plan.currency.toUpperCase() });
  return `${amount.format(plan.price_cents / 100)} / ${plan.interval}`;
}

/** A feature code as words: ``priority_support`` → "Priority support". */
export function featureName(code: string): string {
  const words = code.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function limit(value: number | null | undefined, unit: string): string {
  return value == null ? `Unlimited ${unit}` : `${value.toLocaleString()} ${unit}`;
}
