// The one button of the app (also as a link, through asChild), with a visible focus ring.
import { Slot } from "@radix-ui/react-slot";
import type { ComponentPropsWithRef } from "react";

const LOOKS = {
  primary: "bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-indigo-400",
  secondary:
    "border border-slate-300 bg-white text-slate-900 hover:bg-slate-50 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700",
} as const;

export const FOCUS_RING =
  "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500";

interface ButtonProps extends ComponentPropsWithRef<"button"> {
  look?: keyof typeof LOOKS;
  asChild?: boolean;
  busy?: boolean;
}

export function Button({ look = "primary", asChild, busy, className = "", ...props }: ButtonProps) {
  const Element = asChild ? Slot : "button";
  return (
    <Element
      className={`inline-flex min-h-11 items-center justify-center rounded-md px-4 py-2 text-sm font-semibold ${FOCUS_RING} ${LOOKS[look]} ${className}`}
      aria-busy={busy || undefined}
      disabled={asChild ? undefined : props.disabled || busy}
      {...props}
    />
  );
}
