// Account: profile, email, password, two-factor sign-in, single sign-on links, sessions, notifications, terms, the team's
// service accounts and disabling the account.
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { Page, Section } from "../ui/Layout";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { Consents } from "./Consents";
import { DisableAccount } from "./DisableAccount";
import { EmailChange } from "./EmailChange";
import { useMe } from "./me";
import { MfaMethods } from "./MfaMethods";
import { NotificationPreferences } from "./NotificationPreferences";
import { ProfileForm } from "./ProfileForm";
import { ServiceAccounts } from "./ServiceAccounts";
import { Sessions } from "./Sessions";
import { SingleSignOnLinks } from "./SingleSignOnLinks";
import { TwoFactor } from "./TwoFactor";

function PasswordChange() {
  const notify = useNotify();
  const change = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/auth/password/change", {
          body: { current_password: values.current_password ?? "", new_password: values.new_password ?? "" },
        }),
      ),
    onSuccess: () => notify("Password changed"),
  });
  const errors = fieldErrorsOf(change.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    change.mutate(formValues(form), { onSuccess: () => form.reset() });
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate>
      <ProblemMessage error={change.error} />
      <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required error={errors.current_password} />
      <Field label="New password" name="new_password" type="password" autoComplete="new-password" required error={errors.new_password} />
      <Button type="submit" className="self-start" busy={change.isPending}>
        Change password
      </Button>
    </form>
  );
}

export function AccountPage() {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading your account" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  const { user, scopes } = me.data;
  return (
    <Page title="Account">
      <Section id="profile" title="Profile">
        <ProfileForm />
      </Section>
      <Section id="email" title="Email">
        <EmailChange current={`${user.email} ${user.email_verified ? "(verified)" : "(not verified)"}`} />
      </Section>
      <Section id="password" title="Password">
        <PasswordChange />
      </Section>
      <Section id="two-factor" title="Two-factor sign-in">
        <TwoFactor enabled={user.mfa_enabled} />
        {user.mfa_enabled && <MfaMethods />}
      </Section>
      <Section id="single-sign-on" title="Single sign-on">
        <SingleSignOnLinks />
      </Section>
      <Section id="sessions" title="Sessions">
        <Sessions />
      </Section>
      <Section id="service-accounts" title="Service accounts">
        <ServiceAccounts scopes={scopes} />
      </Section>
      <Section id="notifications" title="Notifications">
        <NotificationPreferences />
      </Section>
      <Section id="consents" title="Terms and privacy">
        <Consents />
      </Section>
      <Section id="disable-account" title="Disable account">
        <DisableAccount />
      </Section>
    </Page>
  );
}
