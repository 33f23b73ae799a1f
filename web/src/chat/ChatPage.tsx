// The chat workspace: conversations on the side, the conversation and its live answer, the composer.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router";
import { unwrap } from "../api/problem";
import { api } from "../app/api";
import { Button, FOCUS_RING } from "../ui/Button";
import { hasFeature } from "../features/features";
import { useFeatures } from "../features/queries";
import { NotInPlan } from "../features/NotInPlan";
import { formValues } from "../ui/forms";
import { Page } from "../ui/Layout";
import { ProblemMessage } from "../ui/states";
import { LiveRun, Messages, messagesKey } from "./Conversation";
import { CONVERSATIONS, Sidebar } from "./Sidebar";
import { useChatRun } from "./useChatRun";

function AgentPicker() {
  const agents = useQuery({
    queryKey: ["agents"],
    queryFn: async () => unwrap(await api.GET("/api/v1/agents")).items,
    staleTime: Infinity,
  });
  const features = useFeatures();
  const outOfPlan = (agents.data ?? []).filter((agent) => agent.feature && !hasFeature(features.data, agent.feature));
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor="agent" className="text-sm font-medium">
        Agent
      </label>
      <select
        id="agent"
        name="agent"
        aria-describedby={outOfPlan.length > 0 ? "agents-out-of-plan" : undefined}
        className={`min-h-11 rounded-md border border-slate-300 bg-white px-2 dark:border-slate-600 dark:bg-slate-900 ${FOCUS_RING}`}
      >
        <option value="">Automatic</option>
        {(agents.data ?? []).map((agent) => (
          <option key={agent.name} value={agent.name} disabled={outOfPlan.includes(agent)}>
            {outOfPlan.includes(agent) ? `${agent.name} (not in your plan)` : agent.name}
          </option>
        ))}
      </select>
      {outOfPlan.length > 0 && (
        <div id="agents-out-of-plan" className="flex flex-col gap-2">
          {outOfPlan.map((agent) => (
            <NotInPlan key={agent.name} feature={agent.feature ?? ""} what={`The ${agent.name} agent`} />
          ))}
        </div>
      )}
    </div>
  );
}

export function ChatPage() {
  const { conversationId } = useParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [draft, setDraft] = useState("");
  const [asked, setAsked] = useState<string | null>(null);

  const onEnd = useCallback(
    async (finished: string | null) => {
      await queries.invalidateQueries({ queryKey: CONVERSATIONS });
      if (!finished) return;
      await queries.invalidateQueries({ queryKey: messagesKey(finished) });
      if (finished !== conversationId) void navigate(`/chat/${finished}`);
    },
    [conversationId, navigate, queries],
  );
  const { run, problem, send, stop } = useChatRun(onEnd);
  const running = run?.status === "running";

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const message = draft.trim();
    if (!message || running) return;
    setDraft("");
    setAsked(message);
    void send({ message, conversationId: conversationId ?? null, agent: formValues(event.currentTarget).agent || null });
  };

  return (
    <Page title="Chat">
      <div className="grid grid-cols-1 gap-6 md:grid-cols-[16rem_minmax(0,1fr)]">
        <Sidebar current={conversationId} />
        <section aria-label="Conversation" className="flex min-w-0 flex-col gap-3">
          {conversationId && <Messages conversationId={conversationId} />}
          {asked && run && <p className="self-end rounded-lg bg-indigo-600 px-4 py-2 whitespace-pre-wrap text-white">{asked}</p>}
          {run && <LiveRun run={run} />}
          <ProblemMessage error={problem} />
          <form onSubmit={submit} className="flex flex-col gap-3">
            <label htmlFor="message" className="text-sm font-medium">
              Message
            </label>
            <textarea
              id="message"
              value={draft}
              onChange={(event) => setDraft(event.target.value)}
              rows={3}
              className={`rounded-md border border-slate-300 bg-white p-3 text-base dark:border-slate-600 dark:bg-slate-900 ${FOCUS_RING}`}
            />
            <div className="flex flex-wrap items-end gap-3">
              <AgentPicker />
              <Button type="submit" disabled={running || !draft.trim()}>
                Send
              </Button>
              {running && (
                <Button type="button" look="secondary" onClick={() => void stop()}>
                  Stop
                </Button>
              )}
            </div>
          </form>
        </section>
      </div>
    </Page>
  );
}
