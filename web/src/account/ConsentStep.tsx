// The step right after login while the current terms or privacy notice is not accepted: nothing
// else of the app opens until the person accepts (or logs out) but the Account page.
import { Link } from "react-router";
import { useConsents } from "./profile";
import { AcceptConsents } from "./Consents";
import { FormPage } from "../ui/Layout";
import { ErrorState, Loading } from "../ui/states";

export function ConsentStep() {
  const consents = useConsents();
  if (consents.isPending) return <Loading label="Loading the terms" />;
  if (consents.isError) return <ErrorState error={consents.error} retry={() => void consents.refetch()} />;
  return (
    <FormPage title="Before you continue" lead="To go on using the app, please accept the current terms of service and privacy notice.">
      <AcceptConsents consents={consents.data} action="Accept and continue" />
      <p className="text-sm">
        Not accepting? You can still change your notification preferences or disable your account on the{" "}
        <Link to="/account" className="underline">
          Account page
        </Link>
        .
      </p>
    </FormPage>
  );
}
