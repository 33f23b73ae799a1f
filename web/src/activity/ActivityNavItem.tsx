// The feed's place in the navigation, with the unread count as a badge (read out in words), kept
// current by the live feed (LiveFeed).
import { NavItem } from "../ui/Layout";
import { unreadWords } from "./feed";
import { useUnreadCount } from "./queries";

export function ActivityNavItem() {
  const unread = useUnreadCount().data ?? 0;
  return (
    <NavItem to="/activity">
      Activity
      {unread > 0 && (
        <>
          <span aria-hidden="true" className="ml-1.5 rounded-full bg-indigo-700 px-1.5 py-0.5 text-xs font-semibold text-white">
            {unread > 99 ? "99+" : unread}
          </span>
          <span className="sr-only">, {unreadWords(unread)}</span>
        </>
      )}
    </NavItem>
  );
}
