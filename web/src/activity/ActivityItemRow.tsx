// One feed item: what happened (a link to what it is about), the kind, who and when, and its
// "mark read" and "dismiss" buttons, named by the item for a screen reader.
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import { Button, FOCUS_RING } from "../ui/Button";
import { when } from "../ui/dates";
import type { ActivityItem } from "./feed";
import { kindName } from "./kinds";

/** A request that the row's Dismiss button take the focus (a new one each time it is asked). */
export interface FocusRequest {
  itemId: string | null;
}

interface ActivityItemRowProps {
  item: ActivityItem;
  onOpen: (item: ActivityItem) => void;
  onRead: (item: ActivityItem) => void;
  onDismiss: (item: ActivityItem) => void;
  busy: boolean;
  focusRequest: FocusRequest | null;
}

function Summary({ item, onOpen }: { item: ActivityItem; onOpen: (item: ActivityItem) => void }) {
  if (!item.subject) return <>{item.summary}</>;
  return (
    <Link
      to={item.subject.href}
      className={`rounded underline-offset-2 hover:underline ${FOCUS_RING}`}
      onClick={() => item.read || onOpen(item)}
    >
      {item.summary}
    </Link>
  );
}

export function ActivityItemRow({ item, onOpen, onRead, onDismiss, busy, focusRequest }: ActivityItemRowProps) {
  const dismissButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusRequest) dismissButton.current?.focus();
  }, [focusRequest]);
  return (
    <li
      className={`flex flex-col gap-3 rounded-lg border p-4 sm:flex-row sm:items-start ${
        item.read
          ? "border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
          : "border-indigo-300 bg-indigo-50 dark:border-indigo-700 dark:bg-indigo-950"
      }`}
    >
      <div className="flex min-w-0 flex-1 flex-col gap-1">
        <p className={`break-words ${item.read ? "" : "font-semibold"}`}>
          {!item.read && <span className="sr-only">Unread: </span>}
          <Summary item={item} onOpen={onOpen} />
        </p>
        <p className="text-sm text-slate-600 dark:text-slate-400">
          {kindName(item.kind)} · {item.actor?.label ?? "Agentbus"} ·{" "}
          <time dateTime={item.occurred_at}>{when(item.occurred_at)}</time>
        </p>
      </div>
      <div className="flex shrink-0 gap-2">
        {!item.read && (
          <Button look="secondary" busy={busy} aria-label={`Mark read: ${item.summary}`} onClick={() => onRead(item)}>
            Mark read
          </Button>
        )}
        <Button
          ref={dismissButton}
          look="secondary"
          busy={busy}
          aria-label={`Dismiss: ${item.summary}`}
          onClick={() => onDismiss(item)}
        >
          Dismiss
        </Button>
      </div>
    </li>
  );
}
