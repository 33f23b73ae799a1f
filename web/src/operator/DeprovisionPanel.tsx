// A tenant's deprovisioning on its operator page: the "Deprovision tenant" button with a dialog
// that asks for the tenant's name typed out, then each service's progress in deleting its part,
// followed live (the page is read again every few seconds) until the tenant is deleted.
import { useState, type FormEvent } from "react";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { FormDialog } from "../ui/dialogs";
import { Field } from "../ui/Field";
import { Section } from "../ui/Layout";
import { ProblemMessage } from "../ui/states";
import { useDeprovision, useProgressPolling } from "./deprovision";
import { confirmsName, progressSummary, type DataPart } from "./deprovisionProgress";
import type { TenantDetail } from "./tenants";

function DeprovisionDialog({ tenant }: { tenant: TenantDetail }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const deprovision = useDeprovision(tenant.id);
  const confirmed = confirmsName(typed, tenant.name);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (confirmed) deprovision.mutate(undefined, { onSuccess: () => setOpen(false) });
  };
  const changeOpen = (next: boolean) => {
    if (next) {
      deprovision.reset();
      setTyped("");
    }
    setOpen(next);
  };
  return (
    <FormDialog
      title={`Deprovision ${tenant.name}?`}
      description="Every service deletes all of the team's data: members, conversations, invoices, activity. Its subscription is cancelled. This cannot be undone."
      open={open}
      onOpenChange={changeOpen}
      trigger={<Button className="self-start">Deprovision tenant</Button>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={deprovision.error} />
        <Field
          label={`Type the team's name, ${tenant.name}, to confirm`}
          name="confirm_name"
          autoComplete="off"
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
        />
        <Button type="submit" disabled={!confirmed} busy={deprovision.isPending}>
          Deprovision and delete all data
        </Button>
      </form>
    </FormDialog>
  );
}

function PartRow({ part }: { part: DataPart }) {
  const done = part.status === "deleted";
  return (
    <li className="flex flex-wrap items-baseline justify-between gap-2 py-2">
      <span className="font-medium">{part.service}</span>
      <span className={done ? "text-green-800 dark:text-green-300" : "text-slate-700 dark:text-slate-300"}>
        {done ? `Deleted ${when(part.deleted_at)}` : "Pending"}
      </span>
    </li>
  );
}

function Progress({ tenant }: { tenant: TenantDetail }) {
  const parts = tenant.data_parts ?? [];
  return (
    <div className="flex flex-col gap-3">
      <p role="status" aria-live="polite">
        {tenant.status === "deleted"
          ? `Deleted ${when(tenant.deleted_at)}: every service has deleted its data.`
          : `Deprovisioning since ${when(tenant.deprovision_requested_at)}: ${progressSummary(parts)}.`}
      </p>
      <ul aria-label="Each service's part" className="divide-y divide-slate-200 dark:divide-slate-800">
        {parts.map((part) => (
          <PartRow key={part.service} part={part} />
        ))}
      </ul>
    </div>
  );
}

export function DeprovisionPanel({ tenant }: { tenant: TenantDetail }) {
  const underway = tenant.status === "deprovisioning" || tenant.status === "deleted";
  useProgressPolling(tenant.id, tenant.status === "deprovisioning");
  return (
    <Section id="tenant-deprovision" title="Deprovisioning">
      {underway ? (
        <Progress tenant={tenant} />
      ) : (
        <>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            Deprovisioning refuses the team at once and has every service delete its data. Only the tenant&apos;s id
            stays, without its name.
          </p>
          <DeprovisionDialog tenant={tenant} />
        </>
      )}
    </Section>
  );
}
