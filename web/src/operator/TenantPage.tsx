// One tenant's page for operators (/operator/tenants/:tenantId): its lifecycle with the actions
// on it, its facts (plan, members, created) and this billing period's usage, then one section
// per further concern of the tenant (its deprovisioning, its feature overrides), each a panel
// component given the tenant.
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { Button, FOCUS_RING } from "../ui/Button";
import { when } from "../ui/dates";
import { FormDialog } from "../ui/dialogs";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { Page, Section } from "../ui/Layout";
import { TextArea } from "../ui/TextArea";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { DeprovisionPanel } from "./DeprovisionPanel";
import { FeatureOverrides } from "./FeatureOverrides";
import { OperatorOnly } from "./OperatorOnly";
import { tenantStatusName, usageSummary, useTenant, useTenantLifecycle, type TenantDetail } from "./tenants";

type Lifecycle = ReturnType<typeof useTenantLifecycle>;

function SuspendDialog({ tenant, lifecycle }: { tenant: TenantDetail; lifecycle: Lifecycle }) {
  const [open, setOpen] = useState(false);
  const errors = fieldErrorsOf(lifecycle.suspend.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = (formValues(event.currentTarget).reason ?? "").trim();
    lifecycle.suspend.mutate(reason, { onSuccess: () => setOpen(false) });
  };
  const changeOpen = (next: boolean) => {
    if (next) lifecycle.suspend.reset();
    setOpen(next);
  };
  return (
    <FormDialog
      title={`Suspend ${tenant.name}?`}
      description="Every member and service account of the team is refused at once, and its running chats stop, until it is reactivated. Nothing is deleted."
      open={open}
      onOpenChange={changeOpen}
      trigger={<Button>Suspend</Button>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={lifecycle.suspend.error} />
        <TextArea label="Reason (kept with the tenant and in the audit log)" name="reason" required maxLength={500} error={errors.reason} />
        <Button type="submit" busy={lifecycle.suspend.isPending}>
          Suspend tenant
        </Button>
      </form>
    </FormDialog>
  );
}

function LifecycleActions({ tenant }: { tenant: TenantDetail }) {
  const lifecycle = useTenantLifecycle(tenant.id);
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={lifecycle.reactivate.error} />
      <div className="flex flex-wrap gap-2">
        {tenant.status === "active" && <SuspendDialog tenant={tenant} lifecycle={lifecycle} />}
        {tenant.status === "suspended" && (
          <Button busy={lifecycle.reactivate.isPending} onClick={() => lifecycle.reactivate.mutate()}>
            Reactivate
          </Button>
        )}
      </div>
    </div>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex flex-col gap-0.5">
      <dt className="text-sm text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className="font-medium break-words">{children}</dd>
    </div>
  );
}

function LifecycleSection({ tenant }: { tenant: TenantDetail }) {
  return (
    <Section id="tenant-lifecycle" title="Status">
      <dl className="grid gap-4 sm:grid-cols-2">
        <Fact term="Status">{tenantStatusName(tenant.status)}</Fact>
        {tenant.suspended_at && <Fact term="Suspended">{when(tenant.suspended_at)}</Fact>}
        {tenant.suspension_reason && <Fact term="Reason">{tenant.suspension_reason}</Fact>}
      </dl>
      <LifecycleActions tenant={tenant} />
    </Section>
  );
}

function FactsSection({ tenant }: { tenant: TenantDetail }) {
  const usage = usageSummary(tenant.usage.used ?? {});
  return (
    <Section id="tenant-facts" title="Plan, members and usage">
      <dl className="grid gap-4 sm:grid-cols-2">
        <Fact term="Plan">{tenant.plan}</Fact>
        <Fact term="Members">{tenant.members_count}</Fact>
        <Fact term="Owner">{tenant.owner_email ?? "—"}</Fact>
        <Fact term="Created">{when(tenant.created_at)}</Fact>
        <Fact term="Usage this period">{usage ?? "Not known right now"}</Fact>
        {tenant.usage.period_end && <Fact term="Period ends">{when(tenant.usage.period_end)}</Fact>}
      </dl>
    </Section>
  );
}

function TenantSections({ tenant }: { tenant: TenantDetail }) {
  return (
    <Page title={tenant.name} lead={`${tenant.slug} · ${tenant.id}`}>
      <Link to="/operator/tenants" className={`self-start rounded text-sm underline ${FOCUS_RING}`}>
        All tenants
      </Link>
      <LifecycleSection tenant={tenant} />
      <FactsSection tenant={tenant} />
      <Section id="tenant-features" title="Feature overrides">
        <FeatureOverrides tenantId={tenant.id} />
      </Section>
      <DeprovisionPanel tenant={tenant} />
    </Page>
  );
}

export function TenantPage() {
  const { tenantId = "" } = useParams();
  const tenant = useTenant(tenantId);
  return (
    <OperatorOnly title="Tenant">
      {tenant.isPending ? (
        <Loading label="Loading the tenant" />
      ) : tenant.isError ? (
        <ErrorState error={tenant.error} retry={() => void tenant.refetch()} />
      ) : (
        <TenantSections tenant={tenant.data} />
      )}
    </OperatorOnly>
  );
}
