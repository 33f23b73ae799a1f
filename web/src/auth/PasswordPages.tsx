// Forgotten password: ask for a code by mail, then set a new password with it.
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";

export function ForgotPasswordPage() {
  const forgot = useMutation({
    mutationFn: async (email: string) => {
      unwrap(await api.POST("/api/v1/auth/password/forgot", { body: { email } }));
      return email;
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    forgot.mutate(formValues(event.currentTarget).email ?? "");
  };
  if (forgot.isSuccess) {
    return (
      <FormPage title="Check your mail" lead="If an account uses that address, a reset code is on its way.">
        <Link className="underline" to={`/reset-password?email=${encodeURIComponent(forgot.data)}`}>
          I have the code
        </Link>
      </FormPage>
    );
  }
  return (
    <FormPage title="Reset your password" lead="We will email you a code to set a new one.">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={forgot.error} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={fieldErrorsOf(forgot.error).email} />
        <Button type="submit" busy={forgot.isPending}>
          Send the code
        </Button>
      </form>
    </FormPage>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const notify = useNotify();
  const reset = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/auth/password/reset", {
          body: { email: values.email ?? "", code: values.code ?? "", new_password: values.new_password ?? "" },
        }),
      ),
    onSuccess: () => {
      notify("Password changed", "Log in with your new password.");
      void navigate("/login", { replace: true });
    },
  });
  const errors = fieldErrorsOf(reset.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    reset.mutate(formValues(event.currentTarget));
  };
  return (
    <FormPage title="Set a new password">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={reset.error} />
        <Field label="Email" name="email" type="email" autoComplete="email" defaultValue={params.get("email") ?? ""} required error={errors.email} />
        <Field label="Code from the email" name="code" inputMode="numeric" autoComplete="one-time-code" required error={errors.code} />
        <Field label="New password" name="new_password" type="password" autoComplete="new-password" required error={errors.new_password} />
        <Button type="submit" busy={reset.isPending}>
          Set password
        </Button>
      </form>
    </FormPage>
  );
}
