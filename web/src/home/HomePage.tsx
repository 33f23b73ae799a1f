// The signed-in home: who and where you are, and what to do next.
import { Link } from "react-router";
import { useMe } from "../account/me";
import { Button } from "../ui/Button";
import { Page } from "../ui/Layout";
import { ErrorState, Loading } from "../ui/states";

export function HomePage() {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading your account" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  const { user, tenant } = me.data;
  return (
    <Page title={`Welcome, ${user.display_name || user.email}`} lead={`${tenant.name} · ${tenant.role}`}>
      {!user.email_verified && (
        <div className="flex flex-col items-start gap-3 rounded-lg border border-amber-300 bg-amber-50 p-4 text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100">
          <p>Verify your email address to invite your team and upgrade your plan.</p>
          <Button asChild>
            <Link to="/verify-email">Verify email</Link>
          </Button>
        </div>
      )}
      <div className="flex flex-wrap gap-3">
        <Button asChild>
          <Link to="/chat">Start a conversation</Link>
        </Button>
        <Button asChild look="secondary">
          <Link to="/pricing">Plans and pricing</Link>
        </Button>
      </div>
    </Page>
  );
}
