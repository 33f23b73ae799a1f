// The gate of the app's private pages: wait for the session to be restored, else go log in; a
// member of a suspended team sees only that it is suspended; a person who has not accepted the current terms and privacy notice accepts them first (the Account
// page stays open: someone who does not accept can still change preferences or disable the account).
import { Navigate, Outlet, useLocation } from "react-router";
import { ConsentStep } from "../account/ConsentStep";
import { useMe } from "../account/me";
import { consentStepBefore } from "../account/profileRules";
import { useSessionStatus } from "../session/session";
import { useTeamSuspended } from "../session/suspension";
import { Loading } from "../ui/states";
import { loginFor } from "./next";
import { TeamSuspendedPage } from "./TeamSuspendedPage";

function ConsentsFirst() {
  const me = useMe();
  const { pathname } = useLocation();
  // The pages themselves show a failure to load the person: only a known due consent stops here.
  if (me.isPending) return <Loading label="Loading your account" />;
  if (consentStepBefore(pathname, me.data?.consents_due === true)) return <ConsentStep />;
  return <Outlet />;
}

export function RequireSession() {
  const status = useSessionStatus();
  const suspended = useTeamSuspended();
  const location = useLocation();
  if (status === "unknown") return <Loading label="Restoring your session" />;
  if (status === "signed-out") {
    return <Navigate to={loginFor(location.pathname + location.search)} replace />;
  }
  if (suspended) return <TeamSuspendedPage />;
  return <ConsentsFirst />;
}
