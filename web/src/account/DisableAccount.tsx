// Disabling the account: a dialog asks for the password (and, with two-factor on, a code); every
// session ends and the person is logged out. The last owner of a team is told why they cannot.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { session } from "../session/session";
import { Button } from "../ui/Button";
import { FormDialog } from "../ui/dialogs";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useMe } from "./me";

export function DisableAccount() {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const twoFactor = useMe().data?.user.mfa_enabled === true;
  const disable = useMutation({
    mutationFn: async (body: { current_password: string; code?: string }) =>
      unwrap(await api.POST("/api/v1/users/me/disable", { body })),
    onSuccess: () => {
      session.end();
      void navigate("/", { replace: true });
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const values = formValues(event.currentTarget);
    disable.mutate({ current_password: values.current_password ?? "", ...(twoFactor ? { code: values.code ?? "" } : {}) });
  };
  return (
    <div className="flex flex-col gap-3">
      <p className="text-sm">
        Disabling your account signs you out everywhere and stops anyone from signing in with it. The last owner of a
        team must first make someone else an owner.
      </p>
      <FormDialog
        title="Disable your account?"
        description="Every session ends at once and you cannot sign in again. Enter your password to confirm."
        open={open}
        onOpenChange={(next) => {
          setOpen(next);
          if (!next) disable.reset();
        }}
        trigger={
          <Button look="secondary" className="self-start">
            Disable account
          </Button>
        }
      >
        <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
          <ProblemMessage error={disable.error} />
          <Field
            label="Current password"
            name="current_password"
            type="password"
            autoComplete="current-password"
            required
            error={fieldErrorsOf(disable.error).current_password}
          />
          {twoFactor && (
            <Field
              label="Code from your authenticator app, or a recovery code"
              name="code"
              autoComplete="one-time-code"
              required
              error={fieldErrorsOf(disable.error).code}
            />
          )}
          <Button type="submit" busy={disable.isPending}>
            Disable my account
          </Button>
        </form>
      </FormDialog>
    </div>
  );
}
