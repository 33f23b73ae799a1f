// What the signup policy means for the person on the register page: closed without an invitation,
// reviewed under approval, ready at once with an invitation.
import { Link } from "react-router";
import { Button } from "../ui/Button";
import { FormPage } from "../ui/Layout";

/** The register page of an invitation-only platform reached without an invitation. */
export function InvitationOnly() {
  return (
    <FormPage title="Sign-up is by invitation" lead="Accounts here are created from an invitation email.">
      <p>
        If you have an invitation, open the link in its email. Otherwise, ask for access: once your request is
        approved you get an email with a link to create your account.
      </p>
      <Button asChild className="self-start">
        <Link to="/request-access">Request access</Link>
      </Button>
    </FormPage>
  );
}

/** A short note under the register form: ready at once when invited, reviewed under approval. */
export function PolicyNote({ policy, invited }: { policy: string; invited: boolean }) {
  if (!invited && policy !== "approval") return null;
  return (
    <div className="flex flex-col gap-2 text-sm text-slate-700 dark:text-slate-300">
      {invited && <p>You were invited: your account is ready as soon as you create it.</p>}
      {!invited && policy === "approval" && (
        <p>
          New accounts are reviewed before they can be used. To be invited instead,{" "}
          <Link className="underline" to="/request-access">
            request access
          </Link>
          .
        </p>
      )}
    </div>
  );
}
