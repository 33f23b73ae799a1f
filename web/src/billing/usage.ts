// How billing reads to a person: a meter against its limit, a subscription's state, an amount.
import type { components } from "../api/schema";

export type MeterUsage = components["schemas"]["MeterUsage"];
export type Subscription = components["schemas"]["SubscriptionView"];

const METER_NAMES: Record<MeterUsage["meter"], string> = { messages: "Messages", tokens: "Tokens" };

export interface MeterReading {
  name: string;
  /** Share of the limit used, 0–100; null when the plan sets no limit. */
  percent: number | null;
  /** The reading in words, as shown and as announced: "12 of 100 messages used (12%)". */
  text: string;
}

export function readMeter(usage: MeterUsage): MeterReading {
  const name = METER_NAMES[usage.meter];
  const unit = name.toLowerCase();
  const used = usage.used.toLocaleString();
  if (usage.limit == null) return { name, percent: null, text: `${used} ${unit} used, no limit` };
  const percent = usage.limit === 0 ? 100 : Math.min(100, Math.round((usage.used / usage.limit) * 100));
  return { name, percent, text: `${used} of ${usage.limit.toLocaleString()} ${unit} used (${percent}%)` };
}

const STATUS_WORDS: Record<Subscription["status"], string> = {
  active: "Active",
  trialing: "Trial",
  past_due: "Payment overdue",
  canceled: "Canceled",
  incomplete: "Waiting for payment",
  incomplete_expired: "Payment expired",
  unpaid: "Unpaid",
  paused: "Paused",
};

export function statusWords(status: Subscription["status"]): string {
  return STATUS_WORDS[status];
}

/** When the current period ends, and what happens then. */
export function periodWords(subscription: Subscription): string | null {
  if (!subscription.current_period_end) return null;
  const date = new Date(subscription.current_period_end).toLocaleDateString();
  return subscription.cancel_at_period_end ? `Ends on ${date}` : `Renews on ${date}`;
}

/** An amount in a currency's minor units (Stripe's cents) as money: 1900, "usd" → "$19.00". */
export function money(minorUnits: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(
    minorUnits / 100,
  );
}
