// The operator's screen of who may sign up: access requests to decide and platform signup invites.
import { useMe } from "../account/me";
import { Page, Section } from "../ui/Layout";
import { Empty, ErrorState, Loading } from "../ui/states";
import { OPERATE } from "./OperatorNavItem";
import { SignupInvites } from "./SignupInvites";
import { SignupRequests } from "./SignupRequests";

export function SignupsPage() {
  const me = useMe();
  if (me.isPending) return <Loading label="Loading" />;
  if (me.isError) return <ErrorState error={me.error} retry={() => void me.refetch()} />;
  if (!me.data.scopes.includes(OPERATE)) {
    return (
      <Page title="Sign-ups">
        <Empty title="This screen is for platform operators.">Ask an operator if you need something here.</Empty>
      </Page>
    );
  }
  return (
    <Page title="Sign-ups" lead="Who may create an account: access requests and signup invites.">
      <Section id="signup-requests" title="Access requests">
        <SignupRequests />
      </Section>
      <Section id="signup-invites" title="Signup invites">
        <SignupInvites />
      </Section>
    </Page>
  );
}
