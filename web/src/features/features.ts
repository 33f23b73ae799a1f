// A tenant's features (its plan's, with operators' overrides) as the app reads and changes them.
import type { components } from "../api/schema";

export type Feature = components["schemas"]["Feature"];
export type TenantFeatures = components["schemas"]["TenantFeatures"];

/** An operator's choice for one feature of a tenant: follow the plan, or force it on or off. */
export type OverrideChoice = "plan" | "on" | "off";

// A Record over Feature: the type check fails when the registry gains a feature not listed here.
const EVERY_FEATURE: Record<Feature, true> = {
  chat: true,
  tools: true,
  priority_support: true,
  service_accounts: true,
  research_agent: true,
};

/** Every feature of the registry, in its order. */
export const FEATURES = Object.keys(EVERY_FEATURE) as Feature[];

export const FEATURE_KEYS = {
  mine: ["features", "mine"],
  tenant: (tenantId: string) => ["features", "tenant", tenantId] as const,
} as const;

/** Whether ``features`` include ``feature``; unknown features (not loaded, or failed) count as
 * included, so the server decides and answers ``feature_not_in_plan`` itself. */
export function hasFeature(features: TenantFeatures | undefined, feature: string): boolean {
  return features === undefined || (features.features as string[]).includes(feature);
}

/** The operator's current choice for ``feature`` in ``overrides``. */
export function choiceOf(overrides: TenantFeatures["overrides"], feature: Feature): OverrideChoice {
  const value = overrides?.[feature];
  if (value === undefined) return "plan";
  return value ? "on" : "off";
}

/** The overrides to save: the features forced on or off (those following the plan are left out). */
export function overridesFrom(choices: Partial<Record<Feature, OverrideChoice>>): Record<string, boolean> {
  const overrides: Record<string, boolean> = {};
  for (const feature of FEATURES) {
    const choice = choices[feature];
    if (choice === "on" || choice === "off") overrides[feature] = choice === "on";
  }
  return overrides;
}

/** Whether ``feature`` is in force under ``choice``, given what the plan includes. */
export function inForce(choice: OverrideChoice, planIncludes: boolean): boolean {
  return choice === "plan" ? planIncludes : choice === "on";
}
