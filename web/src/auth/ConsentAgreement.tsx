// The box a person ticks to accept the terms of service and the privacy notice when an account is
// made (sign-up, joining a team); the form does not go out until it is ticked. The documents are
// linked when the operator publishes their addresses.
import { useId, useRef, useState, type ReactNode, type RefObject } from "react";
import { FOCUS_RING } from "../ui/Button";

interface Versions {
  terms_version: string;
  privacy_version: string;
  terms_url?: string | null;
  privacy_url?: string | null;
}

/** A document's name, a link to it when its address is known. */
export function DocumentLink({ url, children }: { url: string | null | undefined; children: ReactNode }) {
  if (!url) return <>{children}</>;
  return (
    <a href={url} target="_blank" rel="noreferrer" className={`underline ${FOCUS_RING}`}>
      {children}
      <span className="sr-only"> (opens in a new tab)</span>
    </a>
  );
}

const NAME = "accept_consents";
const MISSING = "Tick the box to accept the terms of service and the privacy notice.";

function Agreement({
  versions,
  missing,
  box,
  onTicked,
}: {
  versions: Versions | undefined;
  missing: boolean;
  box: RefObject<HTMLInputElement | null>;
  onTicked: () => void;
}) {
  const id = useId();

  return (
    <div className="flex flex-col gap-1">
      <div className="flex items-start gap-3">
        <input
          ref={box}
          id={id}
          name={NAME}
          type="checkbox"
          aria-invalid={missing || undefined}
          onChange={(event) => {
            if (event.currentTarget.checked) onTicked();
          }}
          aria-describedby={missing ? `${id}-error` : undefined}
          className={`mt-0.5 size-5 shrink-0 accent-indigo-600 ${FOCUS_RING}`}
        />
        <label htmlFor={id} className="text-sm">
          I accept the <DocumentLink url={versions?.terms_url}>terms of service</DocumentLink>
          {versions ? ` (version ${versions.terms_version})` : ""} and the{" "}
          <DocumentLink url={versions?.privacy_url}>privacy notice</DocumentLink>
          {versions ? ` (version ${versions.privacy_version})` : ""}.
        </label>
      </div>
      {missing && (
        <p id={`${id}-error`} className="text-sm text-red-700 dark:text-red-400">
          {MISSING}
        </p>
      )}
    </div>
  );
}

/** The agreement box of a form: ``checkbox(versions)`` renders it, ``ticked(form)`` says whether the
 * form may go out (if not, the box says why and takes the focus). */
export function useConsentAgreement() {
  const [missing, setMissing] = useState(false);
  const box = useRef<HTMLInputElement>(null);
  return {
    checkbox: (versions: Versions | undefined) => (
      <Agreement versions={versions} missing={missing} box={box} onTicked={() => setMissing(false)} />
    ),
    ticked: (form: HTMLFormElement): boolean => {
      const ticked = new FormData(form).get(NAME) !== null;
      setMissing(!ticked);
      if (!ticked) box.current?.focus();
      return ticked;
    },
  };
}
