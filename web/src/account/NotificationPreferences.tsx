// Which notifications the person gets, per kind and channel: a table of checkboxes. Security mail is
// locked on, with the reason next to it.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button, FOCUS_RING } from "../ui/Button";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { useNotificationPreferences } from "./profile";
import {
  isLocked,
  NOTIFICATION_CHANNELS,
  NOTIFICATION_KINDS,
  withChoice,
  type NotificationPreferences as Preferences,
} from "./profileRules";

const LOCKED_REASON_ID = "security-mail-locked";

function PreferencesTable({ saved }: { saved: Preferences }) {
  const queries = useQueryClient();
  const notify = useNotify();
  const [choices, setChoices] = useState(saved);
  const save = useMutation({
    mutationFn: async (body: Preferences) => unwrap(await api.PUT("/api/v1/users/me/notification-preferences", { body })),
    onSuccess: (stored) => {
      queries.setQueryData(["notification-preferences"], stored);
      notify("Notification preferences saved");
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    save.mutate(choices);
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-4" aria-label="Notification preferences">
      <ProblemMessage error={save.error} />
      <div className="overflow-x-auto">
        <table className="w-full max-w-md text-left text-sm">
          <caption className="sr-only">Notifications by kind and channel</caption>
          <thead>
            <tr className="border-b border-slate-200 dark:border-slate-700">
              <th scope="col" className="py-2 pr-4 font-medium">
                Kind
              </th>
              {NOTIFICATION_CHANNELS.map(({ channel, label }) => (
                <th key={channel} scope="col" className="px-2 py-2 text-center font-medium">
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {NOTIFICATION_KINDS.map(({ kind, label }) => (
              <tr key={kind} className="border-b border-slate-100 dark:border-slate-800">
                <th scope="row" className="py-2 pr-4 font-normal">
                  {label}
                </th>
                {NOTIFICATION_CHANNELS.map(({ channel, label: channelLabel }) => (
                  <td key={channel} className="px-2 py-2 text-center">
                    <input
                      type="checkbox"
                      className={`size-5 accent-indigo-600 disabled:opacity-60 ${FOCUS_RING}`}
                      aria-label={`${label}: ${channelLabel.toLowerCase()}`}
                      checked={choices[kind][channel]}
                      disabled={isLocked(kind, channel)}
                      aria-describedby={isLocked(kind, channel) ? LOCKED_REASON_ID : undefined}
                      onChange={(event) => setChoices(withChoice(choices, kind, channel, event.currentTarget.checked))}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p id={LOCKED_REASON_ID} className="text-sm text-slate-600 dark:text-slate-400">
        Security emails stay on: they tell you when someone signs in, or changes your password, email or two-factor
        sign-in.
      </p>
      <Button type="submit" className="self-start" busy={save.isPending}>
        Save preferences
      </Button>
    </form>
  );
}

export function NotificationPreferences() {
  const preferences = useNotificationPreferences();
  if (preferences.isPending) return <Loading label="Loading your notification preferences" />;
  if (preferences.isError) return <ErrorState error={preferences.error} retry={() => void preferences.refetch()} />;
  return <PreferencesTable saved={preferences.data} />;
}
