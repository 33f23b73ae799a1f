// The terms of service and privacy notice: the versions accepted and when, and accepting newer ones.
// The same form is the consent step shown right after login while a required version is not accepted.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";
import { Button } from "../ui/Button";
import { Checkbox } from "../ui/Checkbox";
import { when } from "../ui/dates";
import { DocumentLink } from "../auth/ConsentAgreement";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useConsents } from "./profile";
import { DOCUMENT_NAMES, dueVersions, type Consents as ConsentsData } from "./profileRules";

/** Checkboxes for every document still due and the button that accepts them. */
export function AcceptConsents({ consents, action, onAccepted }: { consents: ConsentsData; action: string; onAccepted?: () => void }) {
  const queries = useQueryClient();
  const [ticked, setTicked] = useState<Record<string, boolean>>({});
  const [unticked, setUnticked] = useState(false);
  const accept = useMutation({
    mutationFn: async () => unwrap(await api.PUT("/api/v1/users/me/consents", { body: dueVersions(consents) ?? {} })),
    onSuccess: async (saved) => {
      queries.setQueryData(ACCOUNT_KEYS.consents, saved);
      await Promise.all([queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me }), queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.profile })]);
      onAccepted?.();
    },
  });
  const due = consents.items.filter((item) => item.due);
  if (due.length === 0) return null;
  const ready = due.every((item) => ticked[item.document]);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setUnticked(!ready);
    if (ready) accept.mutate();
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-label="Accept the current versions">
      <ProblemMessage error={accept.error} />
      {unticked && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          Tick each box to accept the current versions.
        </p>
      )}
      {due.map((item) => (
        <Checkbox
          key={item.document}
          name={item.document}
          checked={ticked[item.document] ?? false}
          onChange={(event) => {
            const next = { ...ticked, [item.document]: event.currentTarget.checked };
            setTicked(next);
            if (due.every((each) => next[each.document])) setUnticked(false);
          }}
          label={`I accept the ${(DOCUMENT_NAMES[item.document] ?? item.document).toLowerCase()} (version ${item.required_version})`}
          {...(item.accepted_version ? { hint: `You accepted version ${item.accepted_version} before.` } : {})}
        />
      ))}
      {due.some((item) => item.document_url) && (
        <ul className="flex flex-col gap-1 text-sm">
          {due
            .filter((item) => item.document_url)
            .map((item) => (
              <li key={item.document}>
                Read the{" "}
                <DocumentLink url={item.document_url}>{(DOCUMENT_NAMES[item.document] ?? item.document).toLowerCase()}</DocumentLink>
              </li>
            ))}
        </ul>
      )}
      <Button type="submit" className="self-start" busy={accept.isPending}>
        {action}
      </Button>
    </form>
  );
}

export function Consents() {
  const consents = useConsents();
  if (consents.isPending) return <Loading label="Loading your consents" />;
  if (consents.isError) return <ErrorState error={consents.error} retry={() => void consents.refetch()} />;
  return (
    <div className="flex flex-col gap-4">
      <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
        {consents.data.items.map((item) => (
          <div key={item.document} className="contents">
            <dt className="font-medium">
              <DocumentLink url={item.document_url}>{DOCUMENT_NAMES[item.document] ?? item.document}</DocumentLink>
            </dt>
            <dd className="mb-2 sm:mb-0">
              {item.accepted_version
                ? `Version ${item.accepted_version}, accepted ${when(item.accepted_at, "never")}`
                : "Not accepted yet"}
              {item.due ? ` — version ${item.required_version} waits for you` : " (current)"}
            </dd>
          </div>
        ))}
      </dl>
      <AcceptConsents consents={consents.data} action="Accept" />
    </div>
  );
}
