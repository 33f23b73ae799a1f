// A labelled form input with its hint and its error (a 422's message for this field); the frame
// (label, hint, error and how the control points at them) serves every kind of control.
import * as Label from "@radix-ui/react-label";
import { useId, type InputHTMLAttributes, type ReactNode } from "react";
import { FOCUS_RING } from "./Button";

interface FrameProps {
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  /** Added to the frame's own classes (how it sits in its parent). */
  className?: string | undefined;
  /** The control, given its id and the attributes that tie it to the hint and the error. */
  children: (control: ControlAttributes) => ReactNode;
}

interface ControlAttributes {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
  className: string;
}

export function FieldFrame({ label, hint, error, className, children }: FrameProps) {
  const id = useId();
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div className={className ? `flex flex-col gap-1 ${className}` : "flex flex-col gap-1"}>
      <Label.Root htmlFor={id} className="text-sm font-medium">
        {label}
      </Label.Root>
      {children({
        id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": described || undefined,
        className: `rounded-md border bg-white px-3 py-2 text-base text-slate-900 dark:bg-slate-900 dark:text-slate-100 ${
          error ? "border-red-600" : "border-slate-300 dark:border-slate-600"
        } ${FOCUS_RING}`,
      })}
      {hint && (
        <p id={`${id}-hint`} className="text-sm text-slate-600 dark:text-slate-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-sm text-red-700 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  hint?: string;
  error?: string | undefined;
}

export function Field({ label, name, hint, error, ...input }: FieldProps) {
  return (
    <FieldFrame label={label} hint={hint} error={error}>
      {({ className, ...control }) => <input name={name} className={`min-h-11 ${className}`} {...control} {...input} />}
    </FieldFrame>
  );
}
