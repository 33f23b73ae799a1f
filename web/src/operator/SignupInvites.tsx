// Platform signup invites for operators: mail one to an email, see where each stands, revoke an open one.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { Field } from "../ui/Field";
import { ConfirmButton, FormDialog } from "../ui/dialogs";
import { fieldErrorsOf, formValues } from "../ui/forms";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { statusName, useSignupDecisions, useSignupInvites, type SignupDecisions, type SignupInvite } from "./signups";

function SignupInviteDialog({ decisions }: { decisions: SignupDecisions }) {
  const [open, setOpen] = useState(false);
  const notify = useNotify();
  const invite = useMutation({
    mutationFn: async (values: Record<string, string>) =>
      unwrap(await api.POST("/api/v1/auth/signup-invites", { body: { email: values.email ?? "", note: values.note || null } })),
    onSuccess: (sent) => {
      setOpen(false);
      notify(`Signup invite sent to ${sent.email}`, `Valid until ${when(sent.expires_at)}.`);
      return decisions.refresh();
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
      title="Invite someone to sign up"
      description="They get an email with a link to create an account; it works once, for this address only."
      open={open}
      onOpenChange={changeOpen}
      trigger={<Button className="self-start">Send a signup invite</Button>}
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={invite.error} />
        <Field label="Email" name="email" type="email" autoComplete="off" required error={errors.email} />
        <Field label="Note for operators (optional, not mailed)" name="note" maxLength={500} error={errors.note} />
        <Button type="submit" busy={invite.isPending}>
          Send invite
        </Button>
      </form>
    </FormDialog>
  );
}

function RevokeCell({ invite, decisions }: { invite: SignupInvite; decisions: SignupDecisions }) {
  if (invite.status !== "pending") return null;
  return (
    <ConfirmButton
      label="Revoke"
      about={`the invite to ${invite.email}`}
      busy={decisions.revoke.isPending && decisions.revoke.variables === invite}
      title={`Revoke the invite to ${invite.email}?`}
      description="Its link stops working at once. You can send a new invite later."
      action="Revoke"
      onConfirm={() => decisions.revoke.mutate(invite)}
    />
  );
}

export function SignupInvites() {
  const invites = useSignupInvites();
  const decisions = useSignupDecisions();
  const rows = invites.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <div className="flex flex-col gap-3">
      <SignupInviteDialog decisions={decisions} />
      <ProblemMessage error={decisions.revoke.error} />
      {invites.isPending ? (
        <Loading label="Loading signup invites" />
      ) : invites.isError ? (
        <ErrorState error={invites.error} retry={() => void invites.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No signup invites yet." />
      ) : (
        <Table<SignupInvite>
          caption="Signup invites"
          rows={rows}
          rowKey={(row) => row.id}
          columns={[
            { header: "Email", cell: (row) => row.email },
            { header: "Note", cell: (row) => row.note || (row.signup_request_id ? "From an access request" : "—") },
            { header: "Status", cell: (row) => statusName(row.status) },
            { header: "Expires", cell: (row) => when(row.expires_at) },
            { header: "Revoke", cell: (row) => <RevokeCell invite={row} decisions={decisions} /> },
          ]}
        />
      )}
      {invites.hasNextPage && (
        <Button look="secondary" className="self-start" busy={invites.isFetchingNextPage} onClick={() => void invites.fetchNextPage()}>
          Older invites
        </Button>
      )}
    </div>
  );
}
