// The team's invoices, newest first, older pages on demand.
import { useInfiniteQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { FOCUS_RING, Button } from "../ui/Button";
import { Table } from "../ui/Table";
import { Empty, ErrorState, Loading } from "../ui/states";
import { BILLING_KEYS } from "./live";
import { money } from "./usage";

type Invoice = components["schemas"]["InvoiceView"];

const PAGE_SIZE = 20;

function useInvoices() {
  return useInfiniteQuery({
    queryKey: BILLING_KEYS.invoices,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/billing/invoices", {
          params: { query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

function statusWords(status: Invoice["status"]): string {
  return status.charAt(0).toUpperCase() + status.slice(1);
}

export function Invoices() {
  const invoices = useInvoices();
  if (invoices.isPending) return <Loading label="Loading your invoices" />;
  if (invoices.isError) return <ErrorState error={invoices.error} retry={() => void invoices.refetch()} />;
  const rows = invoices.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Empty title="No invoices yet.">Invoices appear here once a paid plan starts.</Empty>;
  return (
    <div className="flex flex-col gap-3">
      <Table<Invoice>
        caption="Invoices"
        rows={rows}
        rowKey={(row) => row.id}
        columns={[
          { header: "Date", cell: (row) => new Date(row.created_at).toLocaleDateString() },
          { header: "Number", cell: (row) => row.number ?? "—" },
          { header: "Amount", cell: (row) => money(row.amount_due, row.currency) },
          { header: "Status", cell: (row) => statusWords(row.status) },
          {
            header: "Invoice",
            cell: (row) =>
              row.hosted_invoice_url ? (
                <a className={`underline ${FOCUS_RING}`} href={row.hosted_invoice_url} target="_blank" rel="noreferrer">
                  View<span className="sr-only"> invoice {row.number ?? row.id}</span>
                </a>
              ) : (
                "—"
              ),
          },
        ]}
      />
      {invoices.hasNextPage && (
        <Button look="secondary" className="self-start" busy={invoices.isFetchingNextPage} onClick={() => void invoices.fetchNextPage()}>
          Older invoices
        </Button>
      )}
    </div>
  );
}
