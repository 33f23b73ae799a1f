// The conversation list (newest first) with search, rename and delete.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";
import { api } from "../app/api";
import { Button, FOCUS_RING } from "../ui/Button";
import { Field } from "../ui/Field";
import { formValues } from "../ui/forms";
import { Empty, ErrorState, Loading, ProblemMessage } from "../ui/states";
import { snippetParts } from "./run";

type ConversationRow = components["schemas"]["ConversationView"];

export const CONVERSATIONS = ["conversations"];

function title(conversation: ConversationRow): string {
  return conversation.title || "Untitled conversation";
}

function Snippet({ snippet }: { snippet: string }) {
  return (
    <span className="text-sm">
      {snippetParts(snippet).map((part, index) => (part.marked ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
    </span>
  );
}

function SearchResults({ query }: { query: string }) {
  const hits = useQuery({
    queryKey: ["conversations", "search", query],
    queryFn: async () => unwrap(await api.GET("/api/v1/conversations/search", { params: { query: { q: query } } })).items,
  });
  if (hits.isPending) return <Loading label="Searching" />;
  if (hits.isError) return <ErrorState error={hits.error} />;
  if (hits.data.length === 0) return <Empty title="Nothing matches." />;
  return (
    <ul aria-label="Search results" className="flex flex-col gap-2">
      {hits.data.map((hit) => (
        <li key={hit.message_id}>
          <Link to={`/chat/${hit.conversation_id}`} className={`block rounded p-2 hover:bg-slate-100 dark:hover:bg-slate-800 ${FOCUS_RING}`}>
            <Snippet snippet={hit.snippet} />
          </Link>
        </li>
      ))}
    </ul>
  );
}

function ConversationItem({ conversation, current }: { conversation: ConversationRow; current: boolean }) {
  const [mode, setMode] = useState<"view" | "rename" | "delete">("view");
  const queries = useQueryClient();
  const navigate = useNavigate();
  const path = { params: { path: { conversation_id: conversation.id } } };
  const rename = useMutation({
    mutationFn: async (newTitle: string) =>
      unwrap(await api.PATCH("/api/v1/conversations/{conversation_id}", { ...path, body: { title: newTitle } })),
    onSuccess: async () => {
      setMode("view");
      await queries.invalidateQueries({ queryKey: CONVERSATIONS });
    },
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/conversations/{conversation_id}", path)),
    onSuccess: async () => {
      if (current) void navigate("/chat", { replace: true });
      await queries.invalidateQueries({ queryKey: CONVERSATIONS });
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    rename.mutate(formValues(event.currentTarget).title ?? "");
  };
  if (mode === "rename") {
    return (
      <form onSubmit={submit} className="flex flex-col gap-2 p-2">
        <ProblemMessage error={rename.error} />
        <Field label="New title" name="title" defaultValue={conversation.title ?? ""} autoFocus required />
        <div className="flex gap-2">
          <Button type="submit" busy={rename.isPending}>
            Save
          </Button>
          <Button type="button" look="secondary" onClick={() => setMode("view")}>
            Cancel
          </Button>
        </div>
      </form>
    );
  }
  return (
    <div className="flex flex-col gap-1 p-2">
      <Link
        to={`/chat/${conversation.id}`}
        aria-current={current ? "page" : undefined}
        className={`truncate rounded px-1 ${current ? "font-semibold" : ""} ${FOCUS_RING}`}
      >
        {title(conversation)}
      </Link>
      <ProblemMessage error={remove.error} />
      {mode === "delete" ? (
        <div className="flex flex-wrap gap-2">
          <Button look="primary" busy={remove.isPending} onClick={() => remove.mutate()}>
            Delete for good<span className="sr-only"> {title(conversation)}</span>
          </Button>
          <Button look="secondary" onClick={() => setMode("view")}>
            Keep
          </Button>
        </div>
      ) : (
        <div className="flex gap-2">
          <Button look="secondary" className="min-h-9 px-2 py-1 text-xs" onClick={() => setMode("rename")}>
            Rename<span className="sr-only"> {title(conversation)}</span>
          </Button>
          <Button look="secondary" className="min-h-9 px-2 py-1 text-xs" onClick={() => setMode("delete")}>
            Delete<span className="sr-only"> {title(conversation)}</span>
          </Button>
        </div>
      )}
    </div>
  );
}

export function Sidebar({ current }: { current: string | undefined }) {
  const [query, setQuery] = useState("");
  const conversations = useQuery({
    queryKey: CONVERSATIONS,
    queryFn: async () => unwrap(await api.GET("/api/v1/conversations", { params: { query: { limit: 50 } } })).items,
  });
  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setQuery((formValues(event.currentTarget).q ?? "").trim());
  };
  return (
    <nav aria-label="Conversations" className="flex flex-col gap-4">
      <Button asChild>
        <Link to="/chat">New conversation</Link>
      </Button>
      <form role="search" onSubmit={search} className="flex flex-col gap-2">
        <Field label="Search conversations" name="q" type="search" />
        <Button type="submit" look="secondary">
          Search
        </Button>
      </form>
      {query ? (
        <SearchResults query={query} />
      ) : conversations.isPending ? (
        <Loading label="Loading conversations" />
      ) : conversations.isError ? (
        <ErrorState error={conversations.error} retry={() => void conversations.refetch()} />
      ) : conversations.data.length === 0 ? (
        <Empty title="No conversations yet." />
      ) : (
        <ul className="flex flex-col divide-y divide-slate-200 dark:divide-slate-700">
          {conversations.data.map((conversation) => (
            <li key={conversation.id}>
              <ConversationItem conversation={conversation} current={conversation.id === current} />
            </li>
          ))}
        </ul>
      )}
    </nav>
  );
}
