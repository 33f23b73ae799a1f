// Toasts: short confirmations announced to screen readers (Radix Toast), raised from anywhere.
import * as Toast from "@radix-ui/react-toast";
import { createContext, useCallback, useContext, useState, type ReactNode } from "react";

interface Note {
  id: number;
  title: string;
  description?: string | undefined;
}

type Notify = (title: string, description?: string) => void;

const NotifyContext = createContext<Notify>(() => undefined);

export function Toasts({ children }: { children: ReactNode }) {
  const [notes, setNotes] = useState<Note[]>([]);
  const notify = useCallback<Notify>((title, description) => {
    setNotes((current) => [...current, { id: Date.now() + Math.random(), title, description }]);
  }, []);
  const dismiss = (id: number) => setNotes((current) => current.filter((note) => note.id !== id));
  return (
    <NotifyContext.Provider value={notify}>
      <Toast.Provider swipeDirection="right" duration={5000}>
        {children}
        {notes.map((note) => (
          <Toast.Root
            key={note.id}
            onOpenChange={(open) => !open && dismiss(note.id)}
            className="rounded-md border border-slate-300 bg-white p-4 shadow-lg dark:border-slate-600 dark:bg-slate-800"
          >
            <Toast.Title className="font-semibold">{note.title}</Toast.Title>
            {note.description && (
              <Toast.Description className="mt-1 text-sm">{note.description}</Toast.Description>
            )}
          </Toast.Root>
        ))}
        <Toast.Viewport className="fixed right-0 bottom-0 z-50 m-4 flex w-[calc(100%-2rem)] max-w-sm flex-col gap-2" />
      </Toast.Provider>
    </NotifyContext.Provider>
  );
}

/** ``notify(title, description?)``: show a toast. */
export function useNotify(): Notify {
  return useContext(NotifyContext);
}
