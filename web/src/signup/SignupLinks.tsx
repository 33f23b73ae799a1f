// The ways in that the signup policy leaves open, as links: register, request access, or both.
import { Link } from "react-router";
import { opensToAll, useSignupPolicy } from "./policy";

export function SignupLinks() {
  const policy = useSignupPolicy().data?.policy;
  return (
    <>
      {policy !== "invite_only" && (
        <Link className="underline" to="/register">
          Create an account
        </Link>
      )}
      {!opensToAll(policy) && (
        <Link className="underline" to="/request-access">
          Request access
        </Link>
      )}
    </>
  );
}
