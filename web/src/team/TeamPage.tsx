// Team: who is in it and with which role, seats against the plan, invites for owners and admins.
import { useMe } from "../account/me";
import { usePlans, useSubscription } from "../billing/queries";
import { Page, Section } from "../ui/Layout";
import { ErrorState, Loading } from "../ui/states";
import { InviteDialog } from "./InviteDialog";
import { Members, useMembers } from "./Members";
import { managesMembers, roleName } from "./roles";

/** "2 of 3 seats used" on the team's plan, once the members and the plan are known. */
function Seats() {
  const members = useMembers();
  const plans = usePlans();
  const subscription = useSubscription();
  const plan = plans.data?.find((candidate) => candidate.code === subscription.data?.plan);
  if (!members.data || !plan) return null;
  const seats = plan.limits.seats;
  const used = members.data.length;
  return (
    <p className="text-sm">
      {seats == null ? `${used} seats used, no limit on ${plan.name}` : `${used} of ${seats} seats used on ${plan.name}`}
    </p>
  );
}

export function TeamPage() {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading your team" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  const { user, tenant } = me.data;
  const manager = managesMembers(tenant.role);
  return (
    <Page title="Team" lead={`${tenant.name} · your role: ${roleName(tenant.role)}`}>
      <Section id="members" title="Members">
        <Seats />
        {manager ? (
          <InviteDialog actor={tenant.role} />
        ) : (
          <p className="text-sm">Only the team's owners and admins invite and manage members.</p>
        )}
        <Members actor={tenant.role} selfId={user.id} />
      </Section>
    </Page>
  );
}
