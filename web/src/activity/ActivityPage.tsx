// The team's activity feed: newest first, filtered by kind, person and unread, paged, kept current
// by the live feed (new items appear on top and are announced politely), each item read or
// dismissed, or all read at once.
import { useEffect, useRef, useState } from "react";
import { Button, FOCUS_RING } from "../ui/Button";
import { Checkbox } from "../ui/Checkbox";
import { Page } from "../ui/Layout";
import { LiveStatus } from "../ui/LiveStatus";
import { Select } from "../ui/Select";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { useNotify } from "../ui/toasts";
import { ActivityItemRow, type FocusRequest } from "./ActivityItemRow";
import {
  ALL_ACTIVITY,
  arrivalWords,
  arrivedOnTop,
  itemsOf,
  neighbourOf,
  newestShown,
  type ActivityItem,
  type FeedFilters,
} from "./feed";
import { FILTER_KINDS, kindName } from "./kinds";
import { useFeedLiveness } from "./LiveFeed";
import { useActivityFeed, useDismiss, useMarkRead, useReadAll, useUnreadCount } from "./queries";

/** The people the unfiltered feed shows so far, each once: the choices of the "By" filter. */
function useActors(): { value: string; name: string }[] {
  const feed = useActivityFeed(ALL_ACTIVITY);
  const actors = new Map<string, string>();
  for (const item of feed.data ? itemsOf(feed.data) : []) {
    if (item.actor) actors.set(item.actor.id, item.actor.label);
  }
  return [...actors].map(([value, name]) => ({ value, name }));
}

function Filters({ filters, onChange }: { filters: FeedFilters; onChange: (filters: FeedFilters) => void }) {
  const actors = useActors();
  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:flex-wrap sm:items-end">
      <Select
        label="Show"
        options={[{ value: "", name: "All activity" }, ...FILTER_KINDS.map((kind) => ({ value: kind, name: kindName(kind) }))]}
        value={filters.kind}
        onChange={(event) => onChange({ ...filters, kind: event.target.value })}
      />
      <Select
        label="By"
        options={[{ value: "", name: "Anyone" }, ...actors]}
        value={filters.actor}
        onChange={(event) => onChange({ ...filters, actor: event.target.value })}
      />
      <div className="sm:pb-3">
        <Checkbox
          label="Unread only"
          checked={filters.unreadOnly}
          onChange={(event) => onChange({ ...filters, unreadOnly: event.target.checked })}
        />
      </div>
    </div>
  );
}

/** A polite live region telling what arrived on top of the list since it was first shown. */
function ArrivalNotice({ items }: { items: ActivityItem[] }) {
  const shown = useRef<string[] | null>(null);
  const [notice, setNotice] = useState("");
  useEffect(() => {
    const arrived = arrivedOnTop(shown.current, items);
    shown.current = items.map((item) => item.id);
    if (arrived.length > 0) setNotice(arrivalWords(arrived));
  }, [items]);
  return (
    <p role="status" className="sr-only">
      {notice}
    </p>
  );
}

/** "Mark all read" up to the newest item the shown feed holds, so what arrives meanwhile stays unread. */
function ReadAll({ filters }: { filters: FeedFilters }) {
  const unread = useUnreadCount();
  const shown = useActivityFeed(filters);
  const readAll = useReadAll();
  const notify = useNotify();
  const markAll = () =>
    readAll.mutate(newestShown(shown.data), {
      onSuccess: ({ marked }) => notify(marked === 1 ? "1 item marked read" : `${marked} items marked read`),
    });
  return (
    <div className="flex flex-col gap-2">
      <Button look="secondary" className="self-start" busy={readAll.isPending} disabled={unread.data === 0} onClick={markAll}>
        Mark all read
      </Button>
      <ProblemMessage error={readAll.error} />
    </div>
  );
}

function noItemsTitle({ kind, actor, unreadOnly }: FeedFilters): string {
  if (kind || actor) return "No activity matches these filters.";
  return unreadOnly ? "You have read everything." : "No activity yet.";
}

/** Read and dismiss, each leaving the focus where the person can go on: a read item's Dismiss button
 * (its Mark read is gone), the Dismiss button of the item taking a dismissed one's place, or the
 * empty feed once none is left. */
function useItemActions(items: ActivityItem[]) {
  const markRead = useMarkRead();
  const dismiss = useDismiss();
  const [focusRequest, setFocusRequest] = useState<FocusRequest | null>(null);
  const focusOn = (item: ActivityItem | null) => setFocusRequest({ itemId: item?.id ?? null });
  return {
    focusRequest,
    error: markRead.error ?? dismiss.error,
    acting: (item: ActivityItem) =>
      (markRead.isPending && markRead.variables.id === item.id) || (dismiss.isPending && dismiss.variables.id === item.id),
    open: (item: ActivityItem) => markRead.mutate(item),
    read: (item: ActivityItem) => markRead.mutate(item, { onSettled: () => focusOn(item) }),
    dismiss: (item: ActivityItem) => {
      const neighbour = neighbourOf(items, item.id);
      dismiss.mutate(item, { onSuccess: () => focusOn(neighbour), onError: () => focusOn(item) });
    },
  };
}

/** The empty feed, taking the focus when the last item shown was dismissed. */
function NoItems({ filters, focusRequest }: { filters: FeedFilters; focusRequest: FocusRequest | null }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (focusRequest?.itemId === null) box.current?.focus();
  }, [focusRequest]);
  return (
    <div ref={box} tabIndex={-1} className={`rounded-lg ${FOCUS_RING}`}>
      <Empty title={noItemsTitle(filters)} />
    </div>
  );
}

function Items({ filters }: { filters: FeedFilters }) {
  const feed = useActivityFeed(filters);
  const items = feed.data ? itemsOf(feed.data) : [];
  const actions = useItemActions(items);
  if (feed.isPending) return <Loading label="Loading the activity" />;
  if (feed.isError) return <ErrorState error={feed.error} retry={() => void feed.refetch()} />;
  const { focusRequest } = actions;
  return (
    <div className="flex flex-col gap-3">
      <ArrivalNotice items={items} />
      <ProblemMessage error={actions.error} />
      {items.length === 0 ? (
        <NoItems filters={filters} focusRequest={focusRequest} />
      ) : (
        <ul aria-label="Activity feed" className="flex flex-col gap-2">
          {items.map((item) => (
            <ActivityItemRow
              key={item.id}
              item={item}
              busy={actions.acting(item)}
              focusRequest={focusRequest?.itemId === item.id ? focusRequest : null}
              onOpen={actions.open}
              onRead={actions.read}
              onDismiss={actions.dismiss}
            />
          ))}
        </ul>
      )}
      {feed.hasNextPage && (
        <Button look="secondary" className="self-start" busy={feed.isFetchingNextPage} onClick={() => void feed.fetchNextPage()}>
          Show older activity
        </Button>
      )}
    </div>
  );
}

export function ActivityPage() {
  const [filters, setFilters] = useState<FeedFilters>(ALL_ACTIVITY);
  return (
    <Page title="Activity" lead="What happens in your team, newest first.">
      <LiveStatus liveness={useFeedLiveness()} />
      <Filters filters={filters} onChange={setFilters} />
      <ReadAll filters={filters} />
      <Items key={JSON.stringify(filters)} filters={filters} />
    </Page>
  );
}
