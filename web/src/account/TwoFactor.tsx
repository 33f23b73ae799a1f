// Two-factor sign-in: turn TOTP on (QR code, then a code, then the recovery codes shown once) or off.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { QRCodeSVG } from "qrcode.react";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { codesAsText } from "./profileRules";

interface Enrollment {
  secret: string;
  otpauth_uri: string;
  password: string;
}

/** Recovery codes shown once, with a button that copies them. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const notify = useNotify();
  const copy = async () => {
    await navigator.clipboard.writeText(codesAsText(codes)).then(
      () => notify("Recovery codes copied"),
      () => notify("Copying is not allowed here", "Select the codes and copy them yourself."),
    );
  };
  return (
    <div className="flex flex-col gap-3" role="region" aria-labelledby="recovery-title">
      <h3 id="recovery-title" className="font-semibold">
        Your recovery codes
      </h3>
      <p className="text-sm">Each works once if you lose your authenticator. They are shown only now: keep them somewhere safe.</p>
      <ul aria-label="Recovery codes" className="grid grid-cols-2 gap-2 font-mono text-sm">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="flex flex-wrap gap-3">
        <Button look="secondary" onClick={() => void copy()}>
          Copy codes
        </Button>
        <Button onClick={onDone}>I have saved them</Button>
      </div>
    </div>
  );
}

function Confirm({ enrollment, onCodes }: { enrollment: Enrollment; onCodes: (codes: string[]) => void }) {
  const confirm = useMutation({
    mutationFn: async (code: string) =>
      unwrap(await api.POST("/api/v1/auth/mfa/totp/verify", { body: { code, current_password: enrollment.password } })),
    onSuccess: (result) => onCodes(result.recovery_codes),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    confirm.mutate(formValues(event.currentTarget).code ?? "");
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
      <p className="text-sm">Scan this code with your authenticator app, then enter the code it shows.</p>
      <QRCodeSVG value={enrollment.otpauth_uri} size={176} title="QR code for your authenticator app" className="rounded bg-white p-2" />
      <p className="text-sm">
        Or type this key: <code className="font-mono break-all" data-testid="totp-secret">{enrollment.secret}</code>
      </p>
      <ProblemMessage error={confirm.error} />
      <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required error={fieldErrorsOf(confirm.error).code} />
      <Button type="submit" className="self-start" busy={confirm.isPending}>
        Turn on
      </Button>
    </form>
  );
}

function Enroll({ onEnrollment }: { onEnrollment: (enrollment: Enrollment) => void }) {
  const enroll = useMutation({
    mutationFn: async (password: string) => ({
      ...unwrap(await api.POST("/api/v1/auth/mfa/totp/enroll", { body: { current_password: password } })),
      password,
    }),
    onSuccess: onEnrollment,
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    enroll.mutate(formValues(event.currentTarget).current_password ?? "");
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
      <ProblemMessage error={enroll.error} />
      <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required />
      <Button type="submit" className="self-start" busy={enroll.isPending}>
        Set up an authenticator app
      </Button>
    </form>
  );
}

function TurnOff() {
  const queries = useQueryClient();
  const notify = useNotify();
  const off = useMutation({
    mutationFn: async (code: string) => unwrap(await api.DELETE("/api/v1/auth/mfa/totp", { body: { code } })),
    onSuccess: async () => {
      notify("Two-factor sign-in is off");
      await Promise.all([queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me }), queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.mfaMethods })]);
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    off.mutate(formValues(event.currentTarget).code ?? "");
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
      <p>Two-factor sign-in is on.</p>
      <ProblemMessage error={off.error} />
      <Field label="Code from the app, or a recovery code" name="code" autoComplete="one-time-code" required />
      <Button type="submit" look="secondary" className="self-start" busy={off.isPending}>
        Turn off
      </Button>
    </form>
  );
}

export function TwoFactor({ enabled }: { enabled: boolean }) {
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const queries = useQueryClient();
  if (codes) {
    const done = () => {
      setCodes(null);
      setEnrollment(null);
      void queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me });
      void queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.mfaMethods });
    };
    return <RecoveryCodes codes={codes} onDone={done} />;
  }
  if (enabled) return <TurnOff />;
  if (enrollment) return <Confirm enrollment={enrollment} onCodes={setCodes} />;
  return <Enroll onEnrollment={setEnrollment} />;
}
