// The gate of the app's private pages: wait for the session to be restored, else go log in.
import { Navigate, Outlet, useLocation } from "react-router";
import { useSessionStatus } from "../session/session";
import { Loading } from "../ui/states";
import { loginFor } from "./next";

export function RequireSession() {
  const status = useSessionStatus();
  const location = useLocation();
  if (status === "unknown") return <Loading label="Restoring your session" />;
  if (status === "signed-out") {
    return <Navigate to={loginFor(location.pathname + location.search)} replace />;
  }
  return <Outlet />;
}
