// The profile form: names, avatar address, time zone and language; only the fields changed are sent.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { ACCOUNT_KEYS } from "./me";
import { Button } from "../ui/Button";
import { Field } from "../ui/Field";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { useProfile } from "./profile";
import { profileChanges, type Profile } from "./profileRules";

const TIME_ZONES: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

function ProfileFields({ profile }: { profile: Profile }) {
  const queries = useQueryClient();
  const notify = useNotify();
  const save = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(await api.PATCH("/api/v1/users/me", { body: profileChanges(values, profile) })),
    onSuccess: async (saved) => {
      queries.setQueryData(ACCOUNT_KEYS.profile, saved);
      await queries.invalidateQueries({ queryKey: ACCOUNT_KEYS.me });
      notify("Profile saved");
    },
  });
  const errors = fieldErrorsOf(save.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    save.mutate(formValues(event.currentTarget));
  };
  return (
    <form onSubmit={submit} className="flex max-w-md flex-col gap-4" noValidate aria-label="Profile">
      <ProblemMessage error={save.error} />
      <Field label="Display name" name="display_name" autoComplete="nickname" defaultValue={profile.display_name ?? ""} error={errors.display_name} />
      <Field label="Given name" name="given_name" autoComplete="given-name" defaultValue={profile.given_name ?? ""} error={errors.given_name} />
      <Field label="Family name" name="family_name" autoComplete="family-name" defaultValue={profile.family_name ?? ""} error={errors.family_name} />
      <Field
        label="Avatar address"
        name="avatar_url"
        type="url"
        inputMode="url"
        hint="An https:// address of a picture."
        defaultValue={profile.avatar_url ?? ""}
        error={errors.avatar_url}
      />
      <Field
        label="Time zone"
        name="timezone"
        list="time-zones"
        hint="For example Europe/Paris."
        defaultValue={profile.timezone ?? ""}
        error={errors.timezone}
      />
      <datalist id="time-zones">
        {TIME_ZONES.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <Field label="Language" name="locale" hint="A language tag, for example en-GB." defaultValue={profile.locale ?? ""} error={errors.locale} />
      <Button type="submit" className="self-start" busy={save.isPending}>
        Save profile
      </Button>
    </form>
  );
}

export function ProfileForm() {
  const profile = useProfile();
  if (profile.isPending) return <Loading label="Loading your profile" />;
  if (profile.isError) return <ErrorState error={profile.error} retry={() => void profile.refetch()} />;
  return <ProfileFields profile={profile.data} />;
}
