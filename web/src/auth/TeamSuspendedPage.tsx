// What a member of a suspended team sees instead of the app: the team is suspended, what that
// means, and two ways on (check again once it may be reactivated, or log out). Checking again
// asks once; the app comes back only when the team is active again, else the page says it still
// is suspended (instead of the app flashing up and its requests failing).
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { api, logOut } from "../app/api";
import { checkTeamAgain, type TeamCheck } from "../session/suspension";
import { Button } from "../ui/Button";
import { FormPage } from "../ui/Layout";

type Check = "idle" | "checking" | Exclude<TeamCheck, "active">;

export function TeamSuspendedPage() {
  const cache = useQueryClient();
  const navigate = useNavigate();
  const [check, setCheck] = useState<Check>("idle");
  const checkAgain = async () => {
    if (check === "checking") return;
    setCheck("checking");
    const result = await checkTeamAgain(async () => (await api.GET("/api/v1/auth/me")).response);
    if (result === "active") {
      void cache.invalidateQueries();
      return;
    }
    setCheck(result);
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
      <p role="status" className="min-h-6">
        {check === "checking" && "Checking…"}
        {check === "still-suspended" && "The team is still suspended."}
        {check === "failed" && "The check did not go through; try again in a moment."}
      </p>
      <div className="flex flex-wrap gap-2">
        <Button onClick={() => void checkAgain()}>Check again</Button>
        <Button look="secondary" onClick={() => void leave()}>
          Log out
        </Button>
      </div>
    </FormPage>
  );
}
