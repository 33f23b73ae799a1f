// The team's name and slug, and its settings: billing email, contacts, webhook and flags.
import { useId, useState, type FormEvent } from "react";
import { Button, FOCUS_RING } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { TextArea } from "../ui/TextArea";
import { ErrorState, Loading, ProblemMessage, problemOf } from "../ui/states";
import { useCurrentTenant, useRenameTenant, useSaveSettings, useTenantSettings } from "./administration";
import {
  errorWithin,
  filledContacts,
  flagsText,
  parseFlags,
  WEBHOOK_KINDS,
  type Contact,
  type TenantSettings,
  type WebhookKind,
} from "./tenantSettings";

const MAX_CONTACTS = 10;

export function TenantIdentityForm() {
  const tenant = useCurrentTenant();
  const rename = useRenameTenant();
  if (tenant.isPending) return <Loading label="Loading the team's name" />;
  if (tenant.isError) return <ErrorState error={tenant.error} retry={() => void tenant.refetch()} />;
  const errors = fieldErrorsOf(rename.error);
  const taken = rename.error && problemOf(rename.error).code === "slug_taken";
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const values = formValues(event.currentTarget);
    rename.mutate({ name: values.name?.trim() ?? "", slug: values.slug?.trim() ?? "" }, { onSuccess: () => void tenant.refetch() });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate aria-label="Team name and slug">
      {!taken && <ProblemMessage error={rename.error} />}
      <Field label="Team name" name="name" defaultValue={tenant.data.name} maxLength={100} required error={errors.name} />
      <Field
        label="Slug"
        name="slug"
        defaultValue={tenant.data.slug}
        hint="3 to 40 lowercase letters, digits and hyphens; unique across all teams."
        autoComplete="off"
        spellCheck={false}
        required
        error={taken ? "Another team uses this slug; choose another one." : errors.slug}
      />
      <Button type="submit" className="self-start" busy={rename.isPending}>
        Save name and slug
      </Button>
    </form>
  );
}

function ContactRows({ rows, onChange, errors }: { rows: Contact[]; onChange: (rows: Contact[]) => void; errors: Record<string, string> }) {
  const edit = (index: number, field: keyof Contact, value: string) =>
    onChange(rows.map((row, at) => (at === index ? { ...row, [field]: value } : row)));
  return (
    <fieldset className="flex flex-col gap-3">
      <legend className="text-sm font-medium">Contacts</legend>
      {rows.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">No contacts yet.</p>}
      {rows.map((row, index) => (
        <div key={index} className="grid gap-2 rounded-md border border-slate-200 p-3 sm:grid-cols-3 dark:border-slate-700">
          <Field
            label={`Contact ${index + 1} name`}
            name={`contact-name-${index}`}
            value={row.name}
            onChange={(event) => edit(index, "name", event.target.value)}
            error={errors[`contacts.${index}.name`]}
          />
          <Field
            label={`Contact ${index + 1} email`}
            name={`contact-email-${index}`}
            type="email"
            value={row.email}
            onChange={(event) => edit(index, "email", event.target.value)}
            error={errors[`contacts.${index}.email`]}
          />
          <Field
            label={`Contact ${index + 1} topic`}
            name={`contact-role-${index}`}
            value={row.role ?? ""}
            placeholder="billing, security…"
            onChange={(event) => edit(index, "role", event.target.value)}
            error={errors[`contacts.${index}.role`]}
          />
          <Button type="button" look="secondary" className="self-start" onClick={() => onChange(rows.filter((_row, at) => at !== index))}>
            Remove<span className="sr-only"> contact {index + 1}</span>
          </Button>
        </div>
      ))}
      {rows.length < MAX_CONTACTS && (
        <Button type="button" look="secondary" className="self-start" onClick={() => onChange([...rows, { name: "", email: "", role: "" }])}>
          Add a contact
        </Button>
      )}
    </fieldset>
  );
}

function WebhookKinds({ chosen, error }: { chosen: WebhookKind[]; error: string | undefined }) {
  const errorId = useId();
  return (
    <fieldset className="flex flex-col gap-2" aria-describedby={error ? errorId : undefined}>
      <legend className="text-sm font-medium">Events the webhook receives</legend>
      {WEBHOOK_KINDS.map(({ kind, label }) => (
        <label key={kind} className="flex min-h-11 items-center gap-2 text-sm">
          <input type="checkbox" name="webhook_events" value={kind} defaultChecked={chosen.includes(kind)} className={`h-5 w-5 ${FOCUS_RING}`} />
          {label}
        </label>
      ))}
      {error && (
        <p id={errorId} className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </fieldset>
  );
}

function SettingsForm({ settings }: { settings: TenantSettings }) {
  const save = useSaveSettings();
  const [contacts, setContacts] = useState<Contact[]>(settings.contacts ?? []);
  const [flagsError, setFlagsError] = useState<string | undefined>();
  const errors = fieldErrorsOf(save.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const values = formValues(form);
    const flags = parseFlags(values.flags ?? "");
    setFlagsError(flags.ok ? undefined : flags.message);
    if (!flags.ok) return;
    const kinds = new FormData(form).getAll("webhook_events").map(String) as WebhookKind[];
    save.mutate({
      billing_email: values.billing_email?.trim() || null,
      contacts: filledContacts(contacts),
      webhook_url: values.webhook_url?.trim() || null,
      webhook_events: kinds,
      flags: flags.flags,
    });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate aria-label="Team settings">
      <ProblemMessage error={save.error} />
      <Field label="Billing email" name="billing_email" type="email" defaultValue={settings.billing_email ?? ""} error={errors.billing_email} />
      <ContactRows rows={contacts} onChange={setContacts} errors={errors} />
      <Field
        label="Webhook URL"
        name="webhook_url"
        type="url"
        defaultValue={settings.webhook_url ?? ""}
        hint="An https address on the public internet; private and local addresses are refused."
        error={errors.webhook_url}
      />
      <WebhookKinds chosen={settings.webhook_events ?? []} error={errorWithin(errors, "webhook_events")} />
      <TextArea
        label="Flags (JSON object)"
        name="flags"
        defaultValue={flagsText(settings.flags)}
        hint="Free-form settings for your integrations, at most 8 KiB."
        spellCheck={false}
        error={flagsError ?? errors.flags}
      />
      <Button type="submit" className="self-start" busy={save.isPending}>
        Save settings
      </Button>
    </form>
  );
}

export function TenantSettingsPanel() {
  const settings = useTenantSettings();
  if (settings.isPending) return <Loading label="Loading the team's settings" />;
  if (settings.isError) return <ErrorState error={settings.error} retry={() => void settings.refetch()} />;
  return <SettingsForm settings={settings.data} />;
}
