// The second factors that are on (since when) and the recovery codes left; a current code from the
// authenticator app makes a new set of recovery codes, shown once, the old set void.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useMfaMethods } from "./profile";
import { RecoveryCodes } from "./TwoFactor";

function NewRecoveryCodes({ onCodes }: { onCodes: (codes: string[]) => void }) {
  const renew = useMutation({
    mutationFn: async (code: string) => unwrap(await api.POST("/api/v1/auth/mfa/recovery-codes", { body: { code } })),
    onSuccess: (result) => onCodes(result.recovery_codes),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    renew.mutate(formValues(form).code ?? "", { onSuccess: () => form.reset() });
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate aria-label="New recovery codes">
      <ProblemMessage error={renew.error} />
      <Field
        label="Code from the app"
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        hint="Making new recovery codes stops the old ones from working."
        required
        error={fieldErrorsOf(renew.error).code}
      />
      <Button type="submit" look="secondary" className="self-start" busy={renew.isPending}>
        Make new recovery codes
      </Button>
    </form>
  );
}

export function MfaMethods() {
  const methods = useMfaMethods();
  const queries = useQueryClient();
  const [codes, setCodes] = useState<string[] | null>(null);
  if (methods.isPending) return <Loading label="Loading your second factors" />;
  if (methods.isError) return <ErrorState error={methods.error} retry={() => void methods.refetch()} />;
  const { totp, recovery_codes_remaining: left } = methods.data;
  if (!totp) return null;
  if (codes) {
    const done = () => {
      setCodes(null);
      void queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.mfaMethods });
    };
    return <RecoveryCodes codes={codes} onDone={done} />;
  }
  return (
    <div className="flex flex-col gap-4">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
        <dt className="font-medium">Authenticator app</dt>
        <dd>On since {new Date(totp.enabled_since).toLocaleDateString()}</dd>
        <dt className="font-medium">Recovery codes</dt>
        <dd>{left === 1 ? "1 left" : `${left} left`}</dd>
      </dl>
      <NewRecoveryCodes onCodes={setCodes} />
    </div>
  );
}
