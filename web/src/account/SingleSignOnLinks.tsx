// The single sign-on providers linked to the account: signing in there signs in here; each can be
// unlinked (the account and its password stay).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { when } from "../ui/dates";
import { ConfirmButton } from "../ui/dialogs";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";

type LinkRow = components["schemas"]["SsoIdentity"];

export function SingleSignOnLinks() {
  const queries = useQueryClient();
  const notify = useNotify();
  const links = useQuery({
    queryKey: ["sso-identities"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/sso/identities")).items,
  });
  const unlink = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/auth/sso/identities/{identity_id}", { params: { path: { identity_id: id } } })),
    onSuccess: () => {
      notify("Provider unlinked");
      return queries.invalidateQueries({ queryKey: ["sso-identities"] });
    },
  });
  if (links.isPending) return <Loading label="Loading your single sign-on providers" />;
  if (links.isError) return <ErrorState error={links.error} retry={() => void links.refetch()} />;
  if (links.data.length === 0) return <Empty title="No single sign-on provider is linked to your account." />;
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={unlink.error} />
      <Table<LinkRow>
        caption="Single sign-on providers linked to your account"
        rows={links.data}
        rowKey={(row) => row.id}
        columns={[
          { header: "Provider", cell: (row) => row.provider_name },
          { header: "Email there", cell: (row) => row.email || "—" },
          { header: "Last sign-in", cell: (row) => when(row.last_login_at ?? row.created_at) },
          {
            header: "Action",
            cell: (row) => (
              <ConfirmButton
                label="Unlink"
                about={row.provider_name}
                busy={unlink.isPending && unlink.variables === row.id}
                title={`Unlink ${row.provider_name}?`}
                description={`Signing in with ${row.provider_name} will no longer sign in to this account. Your password and sessions stay as they are.`}
                action="Unlink"
                onConfirm={() => unlink.mutate(row.id)}
              />
            ),
          },
        ]}
      />
    </div>
  );
}
