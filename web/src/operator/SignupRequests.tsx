// Access requests for operators: filtered by status, approved at once or rejected with an optional reason.
import { useState, type FormEvent } from "react";
import { Button } from "../ui/Button";
import { when } from "../ui/dates";
import { FormDialog } from "../ui/dialogs";
import { formValues } from "../ui/forms";
import { Select } from "../ui/Select";
import { Table } from "../ui/Table";
import { TextArea } from "../ui/TextArea";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import {
  statusName,
  useSignupDecisions,
  useSignupRequests,
  type RequestStatus,
  type SignupDecisions,
  type SignupRequest,
} from "./signups";

const FILTERS: (RequestStatus | "all")[] = ["pending", "approved", "rejected", "account_exists", "all"];

function StatusFilter({ value, onChange }: { value: RequestStatus | "all"; onChange: (next: RequestStatus | "all") => void }) {
  return (
    <Select
      label="Show requests"
      options={FILTERS.map((filter) => ({ value: filter, name: statusName(filter) }))}
      value={value}
      onChange={(event) => onChange(event.target.value as RequestStatus | "all")}
    />
  );
}

function RejectDialog({ request, decisions }: { request: SignupRequest; decisions: SignupDecisions }) {
  const [open, setOpen] = useState(false);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = formValues(event.currentTarget).reason?.trim() || null;
    decisions.reject.mutate({ request, reason }, { onSuccess: () => setOpen(false) });
  };
  const changeOpen = (next: boolean) => {
    if (next) decisions.reject.reset();
    setOpen(next);
  };
  return (
    <FormDialog
      title={`Reject ${request.email}?`}
      description="With a reason, they get a polite email saying why; without one, nothing is sent."
      open={open}
      onOpenChange={changeOpen}
      trigger={
        <Button look="secondary">
          Reject<span className="sr-only"> {request.email}</span>
        </Button>
      }
    >
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <ProblemMessage error={decisions.reject.error} />
        <TextArea label="Reason (optional, mailed to them)" name="reason" maxLength={500} />
        <Button type="submit" busy={decisions.reject.isPending}>
          Reject request
        </Button>
      </form>
    </FormDialog>
  );
}

function Decision({ request, decisions }: { request: SignupRequest; decisions: SignupDecisions }) {
  if (request.status !== "pending") {
    return <span>{when(request.decided_at)}</span>;
  }
  return (
    <div className="flex flex-wrap gap-2">
      <Button busy={decisions.approve.isPending && decisions.approve.variables === request} onClick={() => decisions.approve.mutate(request)}>
        Approve<span className="sr-only"> {request.email}</span>
      </Button>
      <RejectDialog request={request} decisions={decisions} />
    </div>
  );
}

export function SignupRequests() {
  const [status, setStatus] = useState<RequestStatus | "all">("pending");
  const requests = useSignupRequests(status);
  const decisions = useSignupDecisions();
  const rows = requests.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <div className="flex flex-col gap-3">
      <StatusFilter value={status} onChange={setStatus} />
      <ProblemMessage error={decisions.approve.error} />
      {requests.isPending ? (
        <Loading label="Loading access requests" />
      ) : requests.isError ? (
        <ErrorState error={requests.error} retry={() => void requests.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title={status === "pending" ? "No requests are waiting." : "No requests here."} />
      ) : (
        <Table<SignupRequest>
          caption="Access requests"
          rows={rows}
          rowKey={(row) => row.id}
          columns={[
            { header: "Name", cell: (row) => row.name },
            { header: "Email", cell: (row) => row.email },
            { header: "Company", cell: (row) => row.company || "—" },
            { header: "Message", cell: (row) => <span className="block max-w-xs break-words">{row.message || "—"}</span> },
            { header: "Asked", cell: (row) => when(row.created_at) },
            { header: "Status", cell: (row) => statusName(row.status) },
            { header: "Decision", cell: (row) => <Decision request={row} decisions={decisions} /> },
          ]}
        />
      )}
      {requests.hasNextPage && (
        <Button look="secondary" className="self-start" busy={requests.isFetchingNextPage} onClick={() => void requests.fetchNextPage()}>
          Older requests
        </Button>
      )}
    </div>
  );
}
