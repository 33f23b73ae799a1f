// Verify the email address with the code sent to it (a new code on request).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { useNavigate } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "../account/me";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { HOME } from "./next";

export function VerifyEmailPage() {
  const navigate = useNavigate();
  const notify = useNotify();
  const queries = useQueryClient();
  const verify = useMutation({
    mutationFn: async (code: string) => unwrap(await api.POST("/api/v1/auth/email/verify", { body: { code } })),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me });
      notify("Email verified");
      void navigate(HOME, { replace: true });
    },
  });
  const resend = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/email/send")),
    onSuccess: () => notify("A new code is on its way"),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    verify.mutate(formValues(event.currentTarget).code ?? "");
  };
  return (
    <FormPage title="Verify your email" lead="We sent a code to your email address.">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={verify.error ?? resend.error} />
        <Field label="Code" name="code" inputMode="numeric" autoComplete="one-time-code" required autoFocus error={fieldErrorsOf(verify.error).code} />
        <Button type="submit" busy={verify.isPending}>
          Verify
        </Button>
        <Button type="button" look="secondary" busy={resend.isPending} onClick={() => resend.mutate()}>
          Send a new code
        </Button>
      </form>
    </FormPage>
  );
}
