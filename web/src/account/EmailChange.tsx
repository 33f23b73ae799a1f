// Changing the email address: the new address and the password, then the code mailed to the new
// address (a new code can be asked for). The old address is told once the change is made and the
// other sessions end.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";

function AskForCode({ onSent, email }: { onSent: (email: string) => void; email?: string | undefined }) {
  const ask = useMutation({
    mutationFn: async (values: Record<string, string>) => {
      const body = { new_email: values.new_email ?? "", current_password: values.current_password ?? "" };
      unwrap(await api.POST("/api/v1/users/me/email", { body }));
      return body.new_email;
    },
    onSuccess: onSent,
  });
  const errors = fieldErrorsOf(ask.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    ask.mutate(formValues(event.currentTarget));
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate aria-label="Change email">
      <ProblemMessage error={ask.error} />
      <Field label="New email" name="new_email" type="email" autoComplete="email" required defaultValue={email} error={errors.new_email} />
      <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required error={errors.current_password} />
      <Button type="submit" className="self-start" busy={ask.isPending}>
        Send a code to the new address
      </Button>
    </form>
  );
}

function ConfirmCode({ email, onDone, onResend }: { email: string; onDone: () => void; onResend: () => void }) {
  const confirm = useMutation({
    mutationFn: async (code: string) => unwrap(await api.POST("/api/v1/users/me/email/confirm", { body: { code } })),
    onSuccess: onDone,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    confirm.mutate(formValues(event.currentTarget).code ?? "");
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate aria-label="Confirm the new email">
      <p className="text-sm" role="status">
        We sent a code to <strong className="break-all">{email}</strong>. Enter it to make this your address.
      </p>
      <p className="text-sm">
        The code works once, for a limited time and a few tries. If it has expired, was typed wrong too often or never
        arrived, send a new code: you enter your password again, and only the newest code works.
      </p>
      <ProblemMessage error={confirm.error} />
      <Field label="Code from the email" name="code" inputMode="numeric" autoComplete="one-time-code" required error={fieldErrorsOf(confirm.error).code} />
      <div className="flex flex-wrap gap-3">
        <Button type="submit" busy={confirm.isPending}>
          Confirm new email
        </Button>
        <Button look="secondary" onClick={onResend}>
          Send a new code
        </Button>
      </div>
    </form>
  );
}

export function EmailChange({ current }: { current: string }) {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [lastAsked, setLastAsked] = useState<string | undefined>(undefined);
  const queries = useQueryClient();
  const notify = useNotify();
  const done = async () => {
    setSentTo(null);
    setLastAsked(undefined);
    notify("Email changed", "Your previous address was told about the change, and your other sessions were signed out.");
    await Promise.all([queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me }), queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.profile })]);
  };
  return (
    <div className="flex flex-col gap-4">
      <p className="text-sm">
        Your email is <strong className="break-all">{current}</strong>.
      </p>
      {sentTo ? (
        <ConfirmCode
          email={sentTo}
          onDone={() => void done()}
          onResend={() => {
            setLastAsked(sentTo);
            setSentTo(null);
          }}
        />
      ) : (
        <AskForCode email={lastAsked} onSent={setSentTo} />
      )}
    </div>
  );
}
