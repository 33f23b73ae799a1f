// Inviting someone to the team: their email and role, in a dialog; the invite is mailed to them.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { Field } from "../ui/Field";
import { FormDialog } from "../ui/dialogs";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { ADMIN_KEYS } from "./administration";
import { RoleSelect } from "./RoleSelect";
import type { Role } from "./roles";

export function InviteDialog({ actor }: { actor: Role }) {
  const [open, setOpen] = useState(false);
  const notify = useNotify();
  const cache = useQueryClient();
  const invite = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(
        await api.POST("/api/v1/tenants/invites", {
          body: { email: values.email ?? "", role: (values.role ?? "member") as Role },
        }),
      ),
    onSuccess: (sent) => {
      setOpen(false);
      notify(`Invite sent to ${sent.email}`, `Valid until ${when(sent.expires_at)}.`);
      return cache.invalidateQueries({ queryKey: ADMIN_KEYS.invites });
    },
  });
  const errors = fieldErrorsOf(invite.error);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    invite.mutate(formValues(event.currentTarget));
  };
  const changeOpen = (next: boolean) => {
    if (next) invite.reset();
    setOpen(next);
  };
  return (
    <FormDialog
      title="Invite a teammate"
      description="They get an email with a link to join this team."
      open={open}
      onOpenChange={changeOpen}
      trigger={<Button className="self-start">Invite a teammate</Button>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={invite.error} />
        <Field label="Email" name="email" type="email" autoComplete="off" required error={errors.email} />
        <RoleSelect label="Role" name="role" actor={actor} defaultValue="member" />
        <Button type="submit" busy={invite.isPending}>
          Send invite
        </Button>
      </form>
    </FormDialog>
  );
}
