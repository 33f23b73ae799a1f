// An operator's feature overrides for one tenant: per feature the plan's default, a choice to
// follow it or force the feature on or off, and what is in force; saved together.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import {
  choiceOf,
  FEATURE_KEYS,
  FEATURES,
  inForce,
  overridesFrom,
  type Feature,
  type OverrideChoice,
  type TenantFeatures,
} from "../features/features";
import { featureName } from "../pricing/plans";
import { Button, FOCUS_RING } from "../ui/Button";
import { Table } from "../ui/Table";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";

const CHOICES: { value: OverrideChoice; name: string }[] = [
  { value: "plan", name: "Follow the plan" },
  { value: "on", name: "On" },
  { value: "off", name: "Off" },
];

type Choices = Record<Feature, OverrideChoice>;

function choicesOf(features: TenantFeatures): Choices {
  return Object.fromEntries(FEATURES.map((feature) => [feature, choiceOf(features.overrides, feature)])) as Choices;
}

function OverridesForm({ tenantId, features }: { tenantId: string; features: TenantFeatures }) {
  const cache = useQueryClient();
  const notify = useNotify();
  const [choices, setChoices] = useState<Choices>(() => choicesOf(features));
  const save = useMutation({
    mutationFn: async (overrides: Record<string, boolean>) =>
      unwrap(
        await api.PUT("/api/v1/platform/tenants/{tenant_id}/features", {
          params: { path: { tenant_id: tenantId } },
          body: { overrides },
        }),
      ),
    onSuccess: (saved) => {
      cache.setQueryData(FEATURE_KEYS.tenant(tenantId), saved);
      setChoices(choicesOf(saved));
      notify("Feature overrides saved", "The tenant's services apply them within seconds.");
    },
  });
  const planIncludes = (feature: Feature) => (features.plan_features as string[]).includes(feature);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    save.mutate(overridesFrom(choices));
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-label="Feature overrides">
      <p className="text-sm">
        Plan: <span className="font-medium">{features.plan}</span>. An override holds whatever plan the tenant moves to.
      </p>
      <ProblemMessage error={save.error} />
      <Table<Feature>
        caption="Features of this tenant"
        rows={FEATURES}
        rowKey={(feature) => feature}
        columns={[
          { header: "Feature", cell: (feature) => featureName(feature) },
          { header: "Plan", cell: (feature) => (planIncludes(feature) ? "Included" : "Not included") },
          {
            header: "Override",
            cell: (feature) => (
              <select
                aria-label={`Override for ${featureName(feature)}`}
                name={feature}
                value={choices[feature]}
                onChange={(event) => setChoices({ ...choices, [feature]: event.target.value as OverrideChoice })}
                className={`min-h-11 rounded-md border border-slate-300 bg-white px-2 dark:border-slate-600 dark:bg-slate-900 ${FOCUS_RING}`}
              >
                {CHOICES.map((choice) => (
                  <option key={choice.value} value={choice.value}>
                    {choice.name}
                  </option>
                ))}
              </select>
            ),
          },
          {
            header: "In force",
            cell: (feature) => (inForce(choices[feature], planIncludes(feature)) ? "On" : "Off"),
          },
        ]}
      />
      <Button type="submit" className="self-start" busy={save.isPending}>
        Save overrides
      </Button>
    </form>
  );
}

/** The feature overrides of ``tenantId``, for operators (``platform:operate``). */
export function FeatureOverrides({ tenantId }: { tenantId: string }) {
  const features = useQuery({
    queryKey: FEATURE_KEYS.tenant(tenantId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/platform/tenants/{tenant_id}/features", {
          params: { path: { tenant_id: tenantId } },
        }),
      ),
  });
  if (features.isPending) return <Loading label="Loading the tenant's features" />;
  if (features.isError) return <ErrorState error={features.error} retry={() => void features.refetch()} />;
  // Keyed by the tenant only: a refetch (the window focused again) keeps the choices not yet saved.
  return <OverridesForm key={tenantId} tenantId={tenantId} features={features.data} />;
}
