// Sign up: a new tenant with its owner, then on to verifying the email; an invitation link fills in
// its token and email, and the signup policy says who may.
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { session } from "../session/session";
import { useConsentAgreement } from "./ConsentAgreement";
import { InvitationOnly, PolicyNote } from "../signup/PolicyNotes";
import { useSignupPolicy } from "../signup/policy";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { Empty, Loading, ProblemMessage } from "../ui/states";

export function RegisterPage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const inviteToken = params.get("invite");
  const invitedEmail = params.get("email") ?? undefined;
  const policy = useSignupPolicy();
  const agreement = useConsentAgreement();
  const register = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/auth/register", {
          body: {
            email: values.email ?? "",
            password: values.password ?? "",
            tenant_name: values.tenant_name ?? "",
            display_name: values.display_name || null,
            invite_token: inviteToken,
            terms_version: policy.data?.terms_version ?? null,
            privacy_version: policy.data?.privacy_version ?? null,
          },
        }),
      ),
    onSuccess: (result) => {
      if (!result.tokens) return; // waiting for an operator's approval
      session.start(result.tokens);
      // An invitation proved the mailbox: nothing to verify.
      void navigate(result.user.email_verified ? "/app" : "/verify-email", { replace: true });
    },
  });
  const errors = fieldErrorsOf(register.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (agreement.ticked(event.currentTarget)) register.mutate(formValues(event.currentTarget));
  };
  if (register.data && !register.data.tokens) {
    return (
      <FormPage title="Almost there">
        <Empty title="Your account is waiting for approval.">We will email you when it is ready.</Empty>
      </FormPage>
    );
  }
  if (policy.isPending) return <Loading label="Loading sign-up" />;
  if (policy.data?.policy === "invite_only" && !inviteToken) return <InvitationOnly />;
  return (
    <FormPage title="Create your account" lead="Your team's workspace, free to start.">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={register.error} />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          defaultValue={invitedEmail}
          {...(inviteToken ? { hint: "Your invitation works for this address only." } : {})}
          error={errors.email}
        />
        <Field label="Your name" name="display_name" autoComplete="name" error={errors.display_name} />
        <Field label="Team or company name" name="tenant_name" autoComplete="organization" required error={errors.tenant_name} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          hint="At least 12 characters; a few unrelated words work well."
          required
          error={errors.password}
        />
        {policy.data && <PolicyNote policy={policy.data.policy} invited={Boolean(inviteToken)} />}
        {agreement.checkbox(policy.data)}
        <Button type="submit" busy={register.isPending}>
          Create account
        </Button>
        <p className="text-sm">
          Already have an account?{" "}
          <Link className="underline" to="/login">
            Log in
          </Link>
        </p>
      </form>
    </FormPage>
  );
}
