// The operator screens' places in the navigation, shown only to a person holding platform:operate.
import { useMe } from "../account/me";
import { NavItem } from "../ui/Layout";

export const OPERATE = "platform:operate";

export function OperatorNavItem() {
  const me = useMe();
  if (!me.data?.scopes.includes(OPERATE)) return null;
  return (
    <>
      <NavItem to="/operator/tenants">Tenants</NavItem>
      <NavItem to="/operator/signups">Sign-ups</NavItem>
    </>
  );
}
