// Log in: email and password, then the second factor when the account has one.
import { useMutation } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { session, type Tokens } from "../session/session";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { FormPage } from "../ui/Layout";
import { ProblemMessage } from "../ui/states";
import { safeNext } from "./next";
import { SsoButtons, SsoError } from "./SingleSignOn";
import { ssoChallengeIn } from "./sso";
import { SignupLinks } from "../signup/SignupLinks";

interface Challenge {
  challenge_token: string;
}

function isChallenge(answer: unknown): answer is Challenge {
  return typeof answer === "object" && answer !== null && "mfa_required" in answer;
}

function useFinish(): (tokens: Tokens) => void {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  return (tokens) => {
    session.start(tokens);
    void navigate(safeNext(params.get("next")), { replace: true });
  };
}

function PasswordStep({ onChallenge }: { onChallenge: (challenge: Challenge) => void }) {
  const finish = useFinish();
  const login = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(await api.POST("/api/v1/auth/token", { body: { email: values.email ?? "", password: values.password ?? "" } })),
    onSuccess: (answer: unknown) => (isChallenge(answer) ? onChallenge(answer) : finish(answer as Tokens)),
  });
  const errors = fieldErrorsOf(login.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    login.mutate(formValues(event.currentTarget));
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
      <ProblemMessage error={login.error} />
      <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.email} />
      <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
      <Button type="submit" busy={login.isPending}>
        Log in
      </Button>
      <p className="flex flex-wrap justify-between gap-2 text-sm">
        <Link className="underline" to="/forgot-password">
          Forgot your password?
        </Link>
        <SignupLinks />
      </p>
    </form>
  );
}

function CodeStep({ challenge }: { challenge: Challenge }) {
  const finish = useFinish();
  const complete = useMutation({
    mutationFn: async (code: string) =>
      unwrap(await api.POST("/api/v1/auth/mfa/complete", { body: { challenge_token: challenge.challenge_token, code } })),
    onSuccess: finish,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    complete.mutate(formValues(event.currentTarget).code ?? "");
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
      <ProblemMessage error={complete.error} />
      <Field
        label="Authentication code"
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        hint="The 6-digit code from your authenticator app, or one of your recovery codes."
        required
        autoFocus
        error={fieldErrorsOf(complete.error).code}
      />
      <Button type="submit" busy={complete.isPending}>
        Verify
      </Button>
    </form>
  );
}

/** The challenge a provider's sign-in ends on for an account with two factors (in the fragment,
 * which no server sees), taken out of the address bar once read. */
function useSsoChallenge(): Challenge | null {
  const [token] = useState(() => ssoChallengeIn(globalThis.location.hash));
  useEffect(() => {
    if (token) globalThis.history.replaceState(null, "", globalThis.location.pathname + globalThis.location.search);
  }, [token]);
  return token ? { challenge_token: token } : null;
}

export function LoginPage() {
  const ssoChallenge = useSsoChallenge();
  const [challenge, setChallenge] = useState<Challenge | null>(ssoChallenge);
  return (
    <FormPage title={challenge ? "Two-factor authentication" : "Log in"}>
      {challenge ? (
        <CodeStep challenge={challenge} />
      ) : (
        <div className="flex flex-col gap-6">
          <SsoError />
          <PasswordStep onChallenge={setChallenge} />
          <SsoButtons />
        </div>
      )}
    </FormPage>
  );
}
