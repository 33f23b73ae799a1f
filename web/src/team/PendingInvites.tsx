// The team's invites still waiting for an answer; an owner or admin revokes one after confirming.
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { ConfirmButton } from "../ui/dialogs";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { usePendingInvites, useRevokeInvite, type PendingInvite } from "./administration";
import { roleName } from "./roles";

function RevokeCell({ invite, revoke }: { invite: PendingInvite; revoke: ReturnType<typeof useRevokeInvite> }) {
  return (
    <ConfirmButton
      label="Revoke"
      about={`the invite to ${invite.email}`}
      busy={revoke.isPending && revoke.variables === invite}
      title={`Revoke the invite to ${invite.email}?`}
      description="The link in their email stops working at once. You can invite them again later."
      action="Revoke invite"
      onConfirm={() => revoke.mutate(invite)}
    />
  );
}

export function PendingInvites() {
  const invites = usePendingInvites();
  const revoke = useRevokeInvite();
  if (invites.isPending) return <Loading label="Loading the pending invites" />;
  if (invites.isError) return <ErrorState error={invites.error} retry={() => void invites.refetch()} />;
  const rows = invites.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Empty title="No pending invites." />;
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={revoke.error} />
      <Table<PendingInvite>
        caption="Pending invites"
        rows={rows}
        rowKey={(row) => row.id}
        columns={[
          { header: "Email", cell: (row) => row.email },
          { header: "Role", cell: (row) => roleName(row.role) },
          { header: "Invited by", cell: (row) => row.invited_by ?? "—" },
          { header: "Expires", cell: (row) => when(row.expires_at) },
          { header: "Revoke", cell: (row) => <RevokeCell invite={row} revoke={revoke} /> },
        ]}
      />
      {invites.hasNextPage && (
        <Button look="secondary" className="self-start" busy={invites.isFetchingNextPage} onClick={() => void invites.fetchNextPage()}>
          Show more invites
        </Button>
      )}
    </div>
  );
}
