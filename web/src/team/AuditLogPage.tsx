// The team's audit log for owners and admins: security events newest first, filtered by kind, paged.
import { useState } from "react";
import { Link } from "react-router";
import { useMe } from "../account/me";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { Page } from "../ui/Layout";
import { placeName } from "../ui/places";
import { Select } from "../ui/Select";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading } from "../ui/states";
import { useAuditLog, type AuditEntry } from "./administration";
import { FILTER_KINDS, kindName, noEventsTitle } from "./auditKinds";
import { managesMembers } from "./roles";

function KindFilter({ value, onChange }: { value: string; onChange: (kind: string) => void }) {
  return (
    <Select
      label="Show events"
      options={[{ value: "", name: "All events" }, ...FILTER_KINDS.map((kind) => ({ value: kind, name: kindName(kind) }))]}
      value={value}
      onChange={(event) => onChange(event.target.value)}
    />
  );
}

function person(email: string | null | undefined, id: string | null | undefined): string {
  return email ?? id ?? "—";
}

function Entries({ kind }: { kind: string }) {
  const log = useAuditLog(kind);
  if (log.isPending) return <Loading label="Loading the audit log" />;
  if (log.isError) return <ErrorState error={log.error} retry={() => void log.refetch()} />;
  const rows = log.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Empty title={noEventsTitle(kind)} />;
  return (
    <div className="flex flex-col gap-3">
      <Table<AuditEntry>
        caption="Audit log"
        rows={rows}
        rowKey={(row) => row.id}
        columns={[
          { header: "Time", cell: (row) => when(row.occurred_at) },
          { header: "Event", cell: (row) => kindName(row.kind) },
          { header: "By", cell: (row) => person(row.actor_email, row.actor_id) },
          { header: "About", cell: (row) => person(row.user_email, row.user_id) },
          { header: "IP", cell: (row) => row.ip ?? "—" },
          { header: "Location", cell: (row) => placeName(row.country, row.city) },
          { header: "Browser", cell: (row) => <span className="block max-w-48 truncate" title={row.user_agent ?? ""}>{row.user_agent ?? "—"}</span> },
        ]}
      />
      {log.hasNextPage && (
        <Button look="secondary" className="self-start" busy={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
          Show older events
        </Button>
      )}
    </div>
  );
}

export function AuditLogPage() {
  const me = useMe();
  const [kind, setKind] = useState("");
  if (me.isPending) return <Loading label="Loading" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  if (!managesMembers(me.data.tenant.role)) {
    return (
      <Page title="Audit log">
        <Empty title="The audit log is for the team's owners and admins.">
          <Link to="/team" className="underline">
            Back to the team
          </Link>
        </Empty>
      </Page>
    );
  }
  return (
    <Page title="Audit log" lead={`Security events of ${me.data.tenant.name}, newest first.`}>
      <KindFilter value={kind} onChange={setKind} />
      <Entries kind={kind} />
    </Page>
  );
}
