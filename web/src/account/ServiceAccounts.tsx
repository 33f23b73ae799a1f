// The team's service accounts: listed, created (the secret shown once, while the plan includes
// them) and revoked after a confirmation, by owners and admins; others see why not.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { when } from "../ui/dates";
import { ConfirmButton } from "../ui/dialogs";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { hasFeature } from "../features/features";
import { useFeatures } from "../features/queries";
import { NotInPlan } from "../features/NotInPlan";
import { NewServiceAccount, SecretShownOnce } from "./NewServiceAccount";
import {
  accountStatus,
  grantableScopes,
  managesServiceAccounts,
  NOT_YOURS,
  type CreatedServiceAccount,
  type ServiceAccount,
} from "./serviceAccounts";

const KEY = ["service-accounts"] as const;
const PAGE_SIZE = 100;

function AccountList() {
  const cache = useQueryClient();
  const notify = useNotify();
  const accounts = useQuery({
    queryKey: KEY,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/auth/service-accounts", { params: { query: { limit: PAGE_SIZE } } })).items,
  });
  const revoke = useMutation({
    mutationFn: async (account: ServiceAccount) =>
      unwrap(
        await api.DELETE("/api/v1/auth/service-accounts/{service_account_id}", {
          params: { path: { service_account_id: account.id } },
        }),
      ),
    onSuccess: (_, account) => {
      notify(`${account.name} was revoked`, "Its secret no longer gets tokens; its tokens are refused.");
      return cache.invalidateQueries({ queryKey: KEY });
    },
  });
  if (accounts.isPending) return <Loading label="Loading service accounts" />;
  if (accounts.isError) return <ErrorState error={accounts.error} retry={() => void accounts.refetch()} />;
  if (accounts.data.length === 0) return <Empty title="No service accounts yet." />;
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={revoke.error} />
      <Table<ServiceAccount>
        caption="Your team's service accounts"
        rows={accounts.data}
        rowKey={(row) => row.id}
        columns={[
          { header: "Name", cell: (row) => row.name },
          { header: "Client ID", cell: (row) => <span className="font-mono">{row.client_id}</span> },
          { header: "Scopes", cell: (row) => row.scopes.join(", ") || "none" },
          { header: "Status", cell: (row) => accountStatus(row, when) },
          {
            header: "Action",
            cell: (row) =>
              row.revoked_at ? null : (
                <ConfirmButton
                  label="Revoke"
                  about={row.name}
                  busy={revoke.isPending && revoke.variables.id === row.id}
                  title={`Revoke ${row.name}?`}
                  description="Programs using its secret are refused at once. This cannot be undone."
                  action="Revoke"
                  onConfirm={() => revoke.mutate(row)}
                />
              ),
          },
        ]}
      />
    </div>
  );
}

export function ServiceAccounts({ scopes }: { scopes: string[] }) {
  const cache = useQueryClient();
  const features = useFeatures();
  const [created, setCreated] = useState<CreatedServiceAccount | null>(null);
  if (!managesServiceAccounts(scopes)) return <p className="text-sm">{NOT_YOURS}</p>;
  const included = hasFeature(features.data, "service_accounts");
  const showOnce = (account: CreatedServiceAccount) => {
    setCreated(account);
    void cache.invalidateQueries({ queryKey: KEY });
  };
  return (
    <div className="flex flex-col gap-6">
      <p className="text-sm">Programs sign in as a service account with its client ID and secret (the client-credentials grant).</p>
      {created ? (
        <SecretShownOnce created={created} onDone={() => setCreated(null)} />
      ) : included ? (
        <NewServiceAccount grantable={grantableScopes(scopes)} onCreated={showOnce} />
      ) : (
        <NotInPlan feature="service_accounts" what="Creating service accounts" />
      )}
      <AccountList />
    </div>
  );
}
