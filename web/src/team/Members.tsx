// The team's members with their roles; owners and admins change roles and remove members.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { ConfirmButton } from "../ui/dialogs";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { useAdminReset } from "./administration";
import { RoleSelect } from "./RoleSelect";
import { refusalFor, roleName, type Member, type Role } from "./roles";

export const MEMBERS_KEY = ["team", "members"] as const;
const PAGE_SIZE = 100;

export function useMembers() {
  return useQuery({
    queryKey: MEMBERS_KEY,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/tenants/members", { params: { query: { limit: PAGE_SIZE } } })).items,
  });
}

/** "Their service accounts A, B were revoked" when a change took some away; else nothing. */
function revokedNote(revoked: { name: string }[] | undefined): string | undefined {
  if (!revoked?.length) return undefined;
  return `Their service accounts ${revoked.map((account) => account.name).join(", ")} were revoked.`;
}

function useMemberChanges() {
  const cache = useQueryClient();
  const notify = useNotify();
  const refresh = () => cache.invalidateQueries({ queryKey: MEMBERS_KEY });
  const changeRole = useMutation({
    mutationFn: async ({ member, role }: { member: Member; role: Role }) =>
      unwrap(
        await api.PATCH("/api/v1/tenants/members/{user_id}", {
          params: { path: { user_id: member.user_id } },
          body: { role },
        }),
      ),
    onSuccess: (updated) => {
      notify(`${updated.email} is now ${roleName(updated.role)}`, revokedNote(updated.revoked_service_accounts));
      return refresh();
    },
  });
  const remove = useMutation({
    mutationFn: async (member: Member) =>
      unwrap(
        await api.DELETE("/api/v1/tenants/members/{user_id}", { params: { path: { user_id: member.user_id } } }),
      ),
    onSuccess: (removed, member) => {
      notify(`${member.email} was removed from the team`, revokedNote(removed.revoked_service_accounts));
      return refresh();
    },
  });
  return { changeRole, remove };
}

type Changes = ReturnType<typeof useMemberChanges>;

function RoleCell({ member, actor, refusal, changes }: { member: Member; actor: Role; refusal: string | null; changes: Changes }) {
  if (refusal) {
    return (
      <span className="flex flex-col">
        <span>{roleName(member.role)}</span>
        <span className="text-xs text-slate-600 dark:text-slate-400">{refusal}</span>
      </span>
    );
  }
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const role = new FormData(event.currentTarget).get("role") as Role;
    if (role !== member.role) changes.changeRole.mutate({ member, role });
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
      <RoleSelect label={`Role of ${member.email}`} hideLabel name="role" actor={actor} defaultValue={member.role} />
      <Button type="submit" look="secondary" busy={changes.changeRole.isPending && changes.changeRole.variables.member === member}>
        Change<span className="sr-only"> role of {member.email}</span>
      </Button>
    </form>
  );
}

function RemoveCell({ member, refusal, changes }: { member: Member; refusal: string | null; changes: Changes }) {
  if (refusal) return null;
  return (
    <ConfirmButton
      label="Remove"
      about={member.email}
      busy={changes.remove.isPending && changes.remove.variables === member}
      title={`Remove ${member.email}?`}
      description="They lose access to this team's conversations and billing at once; their service accounts are revoked."
      action="Remove"
      onConfirm={() => changes.remove.mutate(member)}
    />
  );
}

function ResetPasswordCell({ member, refusal, reset }: { member: Member; refusal: string | null; reset: ReturnType<typeof useAdminReset> }) {
  if (refusal) return null;
  return (
    <ConfirmButton
      label="Reset password"
      about={`of ${member.email}`}
      busy={reset.isPending && reset.variables === member}
      title={`Reset the password of ${member.email}?`}
      description="They are signed out everywhere at once and get an email with a code to choose a new password."
      action="Reset password"
      onConfirm={() => reset.mutate(member)}
    />
  );
}

export function Members({ actor, selfId }: { actor: Role; selfId: string }) {
  const members = useMembers();
  const changes = useMemberChanges();
  const reset = useAdminReset();
  if (members.isPending) return <Loading label="Loading the team" />;
  if (members.isError) return <ErrorState error={members.error} retry={() => void members.refetch()} />;
  if (members.data.length === 0) return <Empty title="No members yet." />;
  const refusal = (member: Member) => refusalFor(actor, member, member.user_id === selfId);
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={changes.changeRole.error ?? changes.remove.error ?? reset.error} />
      <Table<Member>
        caption="Members"
        rows={members.data}
        rowKey={(row) => row.user_id}
        columns={[
          { header: "Name", cell: (row) => row.display_name || "—" },
          { header: "Email", cell: (row) => row.email },
          { header: "Role", cell: (row) => <RoleCell member={row} actor={actor} refusal={refusal(row)} changes={changes} /> },
          { header: "Joined", cell: (row) => new Date(row.joined_at).toLocaleDateString() },
          { header: "Password", cell: (row) => <ResetPasswordCell member={row} refusal={refusal(row)} reset={reset} /> },
          { header: "Remove", cell: (row) => <RemoveCell member={row} refusal={refusal(row)} changes={changes} /> },
        ]}
      />
    </div>
  );
}
