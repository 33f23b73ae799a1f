// What a member of a suspended team sees instead of the app: the team is suspended, what that
// means, and two ways on (check again once it may be reactivated, or log out).
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { logOut } from "../app/api";
import { forgetSuspension } from "../session/suspension";
import { Button } from "../ui/Button";
import { FormPage } from "../ui/Layout";

export function TeamSuspendedPage() {
  const cache = useQueryClient();
  const navigate = useNavigate();
  const checkAgain = () => {
    forgetSuspension();
    void cache.invalidateQueries();
  };
  const leave = async () => {
    await logOut();
    void navigate("/", { replace: true });
  };
  return (
    <FormPage title="Your team is suspended" lead="The platform's operators have suspended this team.">
      <div role="alert" className="flex flex-col gap-3">
        <p>
          Nobody in the team can use the app, its API or its service accounts until the team is reactivated. Your
          conversations, settings and billing are kept as they were.
        </p>
        <p>If you think this is a mistake, contact support or the person who manages your team's account.</p>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button onClick={checkAgain}>Check again</Button>
        <Button look="secondary" onClick={() => void leave()}>
          Log out
        </Button>
      </div>
    </FormPage>
  );
}
