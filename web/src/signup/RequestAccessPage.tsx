// Asking for an account: the answer is the same whatever the email, so it says what happens next.
import { useMutation } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { TextArea } from "../ui/TextArea";
import { Empty, ProblemMessage } from "../ui/states";

export function RequestAccessPage() {
  const request = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/auth/request-access", {
          body: {
            email: values.email ?? "",
            name: values.name ?? "",
            company: values.company || null,
            message: values.message || null,
          },
        }),
      ),
  });
  const errors = fieldErrorsOf(request.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    request.mutate(formValues(event.currentTarget));
  };
  if (request.isSuccess) {
    return (
      <FormPage title="Thank you">
        <Empty title="Your request is in.">
          When it is approved you get an email with a link to create your account.
        </Empty>
      </FormPage>
    );
  }
  return (
    <FormPage title="Request access" lead="Tell us who you are; we email you a link to sign up once approved.">
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={request.error} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.email} />
        <Field label="Your name" name="name" autoComplete="name" required maxLength={100} error={errors.name} />
        <Field label="Company (optional)" name="company" autoComplete="organization" maxLength={100} error={errors.company} />
        <TextArea
          label="What would you like to use Agentbus for? (optional)"
          name="message"
          maxLength={1000}
          error={errors.message}
        />
        <Button type="submit" busy={request.isPending}>
          Request access
        </Button>
        <p className="text-sm">
          Already invited?{" "}
          <Link className="underline" to="/register">
            Create your account
          </Link>
        </p>
      </form>
    </FormPage>
  );
}
