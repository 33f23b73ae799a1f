// A conversation's messages, and the run streaming into it as it happens.
import { useQuery } from "@tanstack/react-query";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { Empty, ErrorState, Loading } from "../ui/states";
import { Answer, ToolCard } from "./Answer";
import type { RunView } from "./run";

type Message = components["schemas"]["MessageView"];

export function messagesKey(conversationId: string) {
  return ["conversations", conversationId, "messages"];
}

function MessageBlock({ message }: { message: Message }) {
  if (message.role === "user") {
    return <p className="self-end rounded-lg bg-indigo-600 px-4 py-2 whitespace-pre-wrap text-white">{message.content}</p>;
  }
  if (message.role === "tool") return <ToolCard label="Tool result" output={message.content} done />;
  return (
    <article className="rounded-lg bg-white px-4 py-2 dark:bg-slate-900">
      <p className="text-xs font-semibold text-slate-600 dark:text-slate-400">{message.agent ?? "Assistant"}</p>
      <Answer text={message.content} />
    </article>
  );
}

export function Messages({ conversationId }: { conversationId: string }) {
  const messages = useQuery({
    queryKey: messagesKey(conversationId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/conversations/{conversation_id}/messages", {
          params: { path: { conversation_id: conversationId }, query: { limit: 100 } },
        }),
      ).items,
  });
  if (messages.isPending) return <Loading label="Loading the messages" />;
  if (messages.isError) return <ErrorState error={messages.error} retry={() => void messages.refetch()} />;
  if (messages.data.length === 0) return <Empty title="No messages yet." />;
  return (
    <>
      {messages.data.map((message) => (
        <MessageBlock key={message.id} message={message} />
      ))}
    </>
  );
}

export function LiveRun({ run }: { run: RunView }) {
  return (
    <article aria-label="Answer in progress" aria-busy={run.status === "running"} className="flex flex-col gap-2 rounded-lg bg-white px-4 py-2 dark:bg-slate-900">
      <p className="text-xs font-semibold text-slate-600 dark:text-slate-400" aria-live="polite">
        {run.agent ?? "Thinking"}
        {run.status === "running" ? " is answering…" : ""}
      </p>
      {run.items.map((item, index) =>
        item.kind === "text" ? (
          <Answer key={index} text={item.text} />
        ) : item.kind === "handoff" ? (
          <p key={index} className="text-sm text-slate-600 italic dark:text-slate-400">
            Handed off from {item.from} to {item.to}
          </p>
        ) : (
          <ToolCard key={index} label={`Tool ${item.name}`} input={item.arguments} output={item.output} done={item.done} />
        ),
      )}
      {run.error && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          {run.error.message} ({run.error.code})
        </p>
      )}
    </article>
  );
}
