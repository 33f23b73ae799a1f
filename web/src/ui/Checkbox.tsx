// A labelled checkbox of the one visual language (a native input: keyboard and screen readers as usual).
import { useId, type InputHTMLAttributes, type ReactNode } from "react";
import { FOCUS_RING } from "./Button";

interface CheckboxProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "type"> {
  label: ReactNode;
  hint?: string;
}

export function Checkbox({ label, hint, ...input }: CheckboxProps) {
  const id = useId();
  return (
    <div className="flex items-start gap-3">
      <input
        id={id}
        type="checkbox"
        aria-describedby={hint ? `${id}-hint` : undefined}
        className={`mt-0.5 size-5 shrink-0 accent-indigo-600 disabled:opacity-60 ${FOCUS_RING}`}
        {...input}
      />
      <div className="flex flex-col gap-1">
        <label htmlFor={id} className="text-sm">
          {label}
        </label>
        {hint && (
          <p id={`${id}-hint`} className="text-sm text-slate-600 dark:text-slate-400">
            {hint}
          </p>
        )}
      </div>
    </div>
  );
}
