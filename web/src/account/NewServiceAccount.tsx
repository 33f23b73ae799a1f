// Creating a service account (a name and the scopes it gets), then its secret shown this once.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { chosenScopes, scopeWords, type CreatedServiceAccount } from "./serviceAccounts";

function CopyButton({ text }: { text: string }) {
  const notify = useNotify();
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => notify("Secret copied"),
      () => notify("Could not copy", "Select the secret and copy it yourself."),
    );
  return (
    <Button look="secondary" className="self-start" onClick={() => void copy()}>
      Copy secret
    </Button>
  );
}

/** The new account's credentials; the secret is not stored readable and never shown again. */
export function SecretShownOnce({ created, onDone }: { created: CreatedServiceAccount; onDone: () => void }) {
  return (
    <div className="flex flex-col gap-3" role="region" aria-labelledby="new-secret-title">
      <h3 id="new-secret-title" className="font-semibold">
        {created.name} is ready
      </h3>
      <p className="rounded-md border border-amber-400 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
        Copy the secret now: it is shown only this once and cannot be recovered. Anyone holding it acts for your
        team with this account's scopes.
      </p>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
        <dt className="font-medium">Client ID</dt>
        <dd className="font-mono break-all" data-testid="service-account-client-id">
          {created.client_id}
        </dd>
        <dt className="font-medium">Secret</dt>
        <dd className="font-mono break-all" data-testid="service-account-secret">
          {created.client_secret}
        </dd>
      </dl>
      <div className="flex flex-wrap gap-3">
        <CopyButton text={created.client_secret} />
        <Button onClick={onDone}>I have stored it</Button>
      </div>
    </div>
  );
}

interface NewServiceAccountProps {
  grantable: string[];
  onCreated: (created: CreatedServiceAccount) => void;
}

/** The create form: a name and, as ticked boxes, the scopes the person may give. */
export function NewServiceAccount({ grantable, onCreated }: NewServiceAccountProps) {
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: async (body: { name: string; scopes: string[] }) =>
      unwrap(await api.POST("/api/v1/auth/service-accounts", { body })),
    onSuccess: (created) => {
      setName("");
      onCreated(created);
    },
  });
  const errors = fieldErrorsOf(create.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const scopes = chosenScopes(new FormData(event.currentTarget).getAll("scopes"), grantable);
    create.mutate({ name, scopes });
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate aria-label="New service account">
      <ProblemMessage error={create.error} />
      <Field label="Service account name" name="name" required value={name} onChange={(event) => setName(event.target.value)} error={errors.name} />
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-sm font-medium">Scopes it gets</legend>
        {grantable.map((scope) => (
          <label key={scope} className="flex items-center gap-2 text-sm">
            <input type="checkbox" name="scopes" value={scope} className="size-4" />
            {scopeWords(scope)} <span className="font-mono text-xs text-slate-600 dark:text-slate-400">{scope}</span>
          </label>
        ))}
        {errors.scopes && <p className="text-sm text-red-700 dark:text-red-400">{errors.scopes}</p>}
      </fieldset>
      <Button type="submit" className="self-start" busy={create.isPending}>
        Create service account
      </Button>
    </form>
  );
}
