// Team: who is in it and with which role, seats against the plan; for owners and admins also the
// pending invites, the team's name and settings, and a link to its audit log.
import { Link } from "react-router";
import { useMe } from "../account/me";
import { usePlans, useSubscription } from "../billing/queries";
import { Page, Section } from "../ui/Layout";
import { ErrorState, Loading } from "../ui/states";
import { InviteDialog } from "./InviteDialog";
import { Members, useMembers } from "./Members";
import { PendingInvites } from "./PendingInvites";
import { TenantIdentityForm, TenantSettingsPanel } from "./TenantForms";
import { managesMembers, roleName } from "./roles";
import { seatsWords } from "./seats";

/** "2 of 3 seats used" on the team's plan: a line from the first render, so nothing below it moves. */
function Seats() {
  const members = useMembers();
  const plans = usePlans();
  const subscription = useSubscription();
  const plan = plans.data?.find((candidate) => candidate.code === subscription.data?.plan);
  const unplanned = plans.isSuccess && subscription.isSuccess && !plan;
  const failed = members.isError || plans.isError || subscription.isError || unplanned;
  return <p className="text-sm">{seatsWords({ used: members.data?.length, plan, failed })}</p>;
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
      {manager && (
        <>
          <Section id="pending-invites" title="Pending invites">
            <PendingInvites />
          </Section>
          <Section id="team-name" title="Name and slug">
            <TenantIdentityForm />
          </Section>
          <Section id="team-settings" title="Settings">
            <TenantSettingsPanel />
          </Section>
          <Section id="team-audit" title="Audit log">
            <p className="text-sm">Sign-ins, password and two-factor changes, roles, invites and support actions.</p>
            <Link to="/team/audit" className="self-start font-medium underline">
              Open the audit log
            </Link>
          </Section>
        </>
      )}
    </Page>
  );
}
