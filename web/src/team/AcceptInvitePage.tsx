// Accept an invite from the mailed link: join the team, with a new account or an existing one.
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { useConsentAgreement } from "../auth/ConsentAgreement";
import { HOME } from "../auth/next";
import { session } from "../session/session";
import { useSignupPolicy } from "../signup/policy";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { Empty, ProblemMessage } from "../ui/states";

export function AcceptInvitePage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get("token") ?? "";
  const policy = useSignupPolicy();
  const agreement = useConsentAgreement();
  const accept = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/tenants/invites/accept", {
          body: {
            token,
            password: values.password || null,
            display_name: values.display_name || null,
            terms_version: policy.data?.terms_version ?? null,
            privacy_version: policy.data?.privacy_version ?? null,
          },
        }),
      ),
    onSuccess: (result) => {
      if (!result.tokens) return; // an account with two-factor sign-in logs in with it
      session.start(result.tokens);
      void navigate(HOME, { replace: true });
    },
  });
  const errors = fieldErrorsOf(accept.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (agreement.ticked(event.currentTarget)) accept.mutate(formValues(event.currentTarget));
  };
  if (!token) {
    return (
      <FormPage title="Join a team">
        <Empty title="This invite link is incomplete.">Open the link from the invite email again.</Empty>
      </FormPage>
    );
  }
  if (accept.data && !accept.data.tokens) {
    return (
      <FormPage title="You joined the team">
        <Link className="underline" to="/login">
          Log in to continue
        </Link>
      </FormPage>
    );
  }
  return (
    <FormPage title="Join the team" lead="New here? Choose a password. Already have an account? Enter its password.">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={accept.error} />
        <Field label="Your name" name="display_name" autoComplete="name" error={errors.display_name} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required error={errors.password} />
        {agreement.checkbox(policy.data)}
        <Button type="submit" busy={accept.isPending}>
          Join
        </Button>
      </form>
    </FormPage>
  );
}
