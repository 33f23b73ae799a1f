// The person's sessions (browsers and devices signed in), each revocable.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { placeName } from "../ui/places";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";

type SessionRow = components["schemas"]["SessionView"];

export function Sessions() {
  const queries = useQueryClient();
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: async () => unwrap(await api.GET("/api/v1/auth/sessions")).items,
  });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/auth/sessions/{session_id}", { params: { path: { session_id: id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["sessions"] }),
  });
  if (sessions.isPending) return <Loading label="Loading your sessions" />;
  if (sessions.isError) return <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />;
  if (sessions.data.length === 0) return <Empty title="No other sessions." />;
  return (
    <div className="flex flex-col gap-3">
      <ProblemMessage error={revoke.error} />
      <Table<SessionRow>
        caption="Your sessions"
        rows={sessions.data}
        rowKey={(row) => row.id}
        columns={[
          { header: "Device", cell: (row) => (row.current ? "This browser" : row.user_agent || "Unknown") },
          { header: "Address", cell: (row) => row.ip || "—" },
          { header: "Location", cell: (row) => placeName(row.country, row.city) },
          { header: "Last used", cell: (row) => when(row.last_used_at ?? row.created_at) },
          {
            header: "Action",
            cell: (row) =>
              row.current ? null : (
                <Button look="secondary" busy={revoke.isPending && revoke.variables === row.id} onClick={() => revoke.mutate(row.id)}>
                  Revoke<span className="sr-only"> session from {row.ip || "an unknown address"}</span>
                </Button>
              ),
          },
        ]}
      />
    </div>
  );
}
