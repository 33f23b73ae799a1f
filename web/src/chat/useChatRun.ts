// Runs an agent with a streamed answer: POST /chat/stream read event by event, Stop to cancel.
import { useCallback, useEffect, useRef, useState } from "react";
import { openStream, serverEvents } from "../api/events";
import { api } from "../app/api";
import { chatEvent } from "./events";
import { advance, STARTING, type RunView } from "./run";

export interface Ask {
  message: string;
  conversationId: string | null;
  agent: string | null;
}

function openChatStream(ask: Ask, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  return openStream(
    api.POST("/api/v1/chat/stream", {
      body: { message: ask.message, conversation_id: ask.conversationId, agent: ask.agent },
      parseAs: "stream",
      signal,
    }),
  );
}

/** The run in flight (or the last one), the problem that kept it from starting, send and stop.
 * ``onEnd`` gets the run's conversation once the stream is over. */
export function useChatRun(onEnd: (conversationId: string | null) => Promise<void>) {
  const [run, setRun] = useState<RunView | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const current = useRef<RunView | null>(null);
  const aborter = useRef<AbortController | null>(null);

  useEffect(() => () => aborter.current?.abort(), []);

  const send = useCallback(
    async (ask: Ask) => {
      aborter.current?.abort();
      const controller = new AbortController();
      aborter.current = controller;
      const show = (view: RunView | null) => {
        current.current = view;
        setRun(view);
      };
      setProblem(null);
      show(STARTING);
      try {
        for await (const message of serverEvents(await openChatStream(ask, controller.signal))) {
          const event = chatEvent(message);
          if (event && current.current) show(advance(current.current, event));
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        setProblem(error);
      }
      await onEnd(current.current?.conversationId ?? ask.conversationId);
      if (current.current?.status === "done") show(null);
    },
    [onEnd],
  );

  const stop = useCallback(async () => {
    const streamId = current.current?.streamId;
    if (!streamId) return;
    await api.POST("/api/v1/chat/streams/{stream_id}/cancel", { params: { path: { stream_id: streamId } } });
  }, []);

  return { run, problem, send, stop };
}
