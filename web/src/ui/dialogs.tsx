// Dialogs of the one visual language (Radix): a form in a dialog, and a confirmation before an
// action that cannot be taken back. Both trap focus, close on Escape and return focus on close.
import * as AlertDialog from "@radix-ui/react-alert-dialog";
import * as Dialog from "@radix-ui/react-dialog";
import type { ReactNode } from "react";
import { Button } from "./Button";

const OVERLAY = "fixed inset-0 z-40 bg-slate-900/50";
const PANEL =
  "fixed top-1/2 left-1/2 z-50 flex max-h-[90vh] w-[calc(100%-2rem)] max-w-md -translate-x-1/2 -translate-y-1/2 flex-col gap-4 overflow-y-auto rounded-lg border border-slate-200 bg-white p-6 text-slate-900 shadow-xl dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100";

interface FormDialogProps {
  title: string;
  description: string;
  /** The button that opens the dialog. */
  trigger: ReactNode;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  children: ReactNode;
}

/** A dialog around a form; the form's own buttons submit it, Cancel closes it. */
export function FormDialog({ title, description, trigger, open, onOpenChange, children }: FormDialogProps) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className={OVERLAY} />
        <Dialog.Content className={PANEL}>
          <Dialog.Title className="text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description className="text-sm text-slate-600 dark:text-slate-400">{description}</Dialog.Description>
          {children}
          <Dialog.Close asChild>
            <Button look="secondary">Cancel</Button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

interface ConfirmProps {
  title: string;
  description: string;
  /** The words of the button that does it ("Remove", "Downgrade to Free"). */
  action: string;
  trigger: ReactNode;
  onConfirm: () => void;
}

/** Asks before doing ``action``; Cancel is focused first, so Enter alone never does it. */
export function ConfirmDialog({ title, description, action, trigger, onConfirm }: ConfirmProps) {
  return (
    <AlertDialog.Root>
      <AlertDialog.Trigger asChild>{trigger}</AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className={OVERLAY} />
        <AlertDialog.Content className={PANEL}>
          <AlertDialog.Title className="text-lg font-semibold">{title}</AlertDialog.Title>
          <AlertDialog.Description className="text-sm">{description}</AlertDialog.Description>
          <div className="flex flex-wrap justify-end gap-3">
            <AlertDialog.Cancel asChild>
              <Button look="secondary">Cancel</Button>
            </AlertDialog.Cancel>
            <AlertDialog.Action asChild>
              <Button onClick={onConfirm}>{action}</Button>
            </AlertDialog.Action>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

interface ConfirmButtonProps extends Omit<ConfirmProps, "trigger"> {
  /** The button's words ("Remove"). */
  label: string;
  /** What it acts on, for screen readers ("jane@example.com"). */
  about: string;
  busy: boolean;
}

/** A secondary button that asks before doing ``action``: a table row's action that cannot be undone. */
export function ConfirmButton({ label, about, busy, ...confirm }: ConfirmButtonProps) {
  return (
    <ConfirmDialog
      {...confirm}
      trigger={
        <Button look="secondary" busy={busy}>
          {label}
          <span className="sr-only"> {about}</span>
        </Button>
      }
    />
  );
}
