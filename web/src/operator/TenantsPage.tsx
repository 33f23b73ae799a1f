// The operators' list of tenants: search by name, slug or owner email, filter by status, newest
// first in pages; each tenant opens its page. Creating a tenant is a form in a dialog.
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { Button, FOCUS_RING } from "../ui/Button";
import { when } from "../ui/dates";
import { Field } from "../ui/Field";
import { formValues } from "../ui/forms";
import { Page, Section } from "../ui/Layout";
import { Select } from "../ui/Select";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading } from "../ui/states";
import { CreateTenantDialog } from "./CreateTenantDialog";
import { OperatorOnly } from "./OperatorOnly";
import { TENANT_STATUSES, tenantStatusName, useTenants, type TenantStatus, type TenantSummary } from "./tenants";

const FILTERS: (TenantStatus | "all")[] = ["all", ...TENANT_STATUSES];

function SearchForm({ onSearch }: { onSearch: (q: string) => void }) {
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    onSearch((formValues(event.currentTarget).q ?? "").trim());
  };
  return (
    <form role="search" aria-label="Tenants" onSubmit={submit} className="flex flex-wrap items-end gap-2">
      <Field label="Name, slug or owner email" name="q" type="search" maxLength={200} />
      <Button type="submit" look="secondary">
        Search
      </Button>
    </form>
  );
}

function TenantList({ q, status }: { q: string; status: TenantStatus | "all" }) {
  const tenants = useTenants(q, status);
  const rows = tenants.data?.pages.flatMap((page) => page.items) ?? [];
  if (tenants.isPending) return <Loading label="Loading tenants" />;
  if (tenants.isError) return <ErrorState error={tenants.error} retry={() => void tenants.refetch()} />;
  if (rows.length === 0) return <Empty title={q ? `No tenant matches “${q}”.` : "No tenants here."} />;
  return (
    <>
      <Table<TenantSummary>
        caption="Tenants"
        rows={rows}
        rowKey={(row) => row.id}
        columns={[
          {
            header: "Name",
            cell: (row) => (
              <Link to={`/operator/tenants/${row.id}`} className={`rounded underline ${FOCUS_RING}`}>
                {row.name}
              </Link>
            ),
          },
          { header: "Slug", cell: (row) => row.slug },
          { header: "Owner", cell: (row) => row.owner_email ?? "—" },
          { header: "Plan", cell: (row) => row.plan },
          { header: "Status", cell: (row) => tenantStatusName(row.status) },
          { header: "Created", cell: (row) => when(row.created_at) },
        ]}
      />
      {tenants.hasNextPage && (
        <Button look="secondary" className="self-start" busy={tenants.isFetchingNextPage} onClick={() => void tenants.fetchNextPage()}>
          Older tenants
        </Button>
      )}
    </>
  );
}

export function TenantsPage() {
  const [q, setQ] = useState("");
  const [status, setStatus] = useState<TenantStatus | "all">("all");
  return (
    <OperatorOnly title="Tenants">
      <Page title="Tenants" lead="Every team on the platform: find one, open its page, suspend or reactivate it.">
        <CreateTenantDialog />
        <Section id="tenant-search" title="Find a tenant">
          <div className="flex flex-wrap items-end gap-4">
            <SearchForm onSearch={setQ} />
            <Select
              label="Status"
              options={FILTERS.map((filter) => ({ value: filter, name: tenantStatusName(filter) }))}
              value={status}
              onChange={(event) => setStatus(event.target.value as TenantStatus | "all")}
            />
          </div>
          <TenantList q={q} status={status} />
        </Section>
      </Page>
    </OperatorOnly>
  );
}
