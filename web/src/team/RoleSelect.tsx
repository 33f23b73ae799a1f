// A labelled choice of role, limited to the roles the person may give.
import * as Label from "@radix-ui/react-label";
import { useId, type SelectHTMLAttributes } from "react";
import { FOCUS_RING } from "../ui/Button";
import { assignableRoles, roleName, type Role } from "./roles";

interface RoleSelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  label: string;
  /** Shown to screen readers only (a table row's column says it already). */
  hideLabel?: boolean;
  actor: Role;
}

export function RoleSelect({ label, hideLabel, actor, ...select }: RoleSelectProps) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <Label.Root htmlFor={id} className={hideLabel ? "sr-only" : "text-sm font-medium"}>
        {label}
      </Label.Root>
      <select
        id={id}
        className={`min-h-11 rounded-md border border-slate-300 bg-white px-3 py-2 text-base text-slate-900 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100 ${FOCUS_RING}`}
        {...select}
      >
        {assignableRoles(actor).map((role) => (
          <option key={role} value={role}>
            {roleName(role)}
          </option>
        ))}
      </select>
    </div>
  );
}
