// The gate of the app's private pages: wait for the session to be restored, else go log in; a
// person who has not accepted the current terms and privacy notice accepts them first.
import { Navigate, Outlet, useLocation } from "react-router";
import { ConsentStep } from "../account/ConsentStep";
import { useMe } from "../account/me";
import { useSessionStatus } from "../session/session";
import { Loading } from "../ui/states";
import { loginFor } from "./next";

function ConsentsFirst() {
  const me = useMe();
  // The pages themselves show a failure to load the person: only a known due consent stops here.
  if (me.isPending) return <Loading label="Loading your account" />;
  if (me.data?.consents_due) return <ConsentStep />;
  return <Outlet />;
}

export function RequireSession() {
  const status = useSessionStatus();
  const location = useLocation();
  if (status === "unknown") return <Loading label="Restoring your session" />;
  if (status === "signed-out") {
    return <Navigate to={loginFor(location.pathname + location.search)} replace />;
  }
  return <ConsentsFirst />;
}
