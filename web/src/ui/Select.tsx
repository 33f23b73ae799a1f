// A labelled choice among fixed options (a list's filter), in the same frame as every form field.
import type { SelectHTMLAttributes } from "react";
import { FieldFrame } from "./Field";

export interface SelectOption {
  value: string;
  /** The option's words ("Pending"). */
  name: string;
}

interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  label: string;
  options: readonly SelectOption[];
}

/** A select under its label, as wide as its options. */
export function Select({ label, options, ...select }: SelectProps) {
  return (
    <FieldFrame label={label} className="self-start">
      {({ className, ...control }) => (
        <select className={`min-h-11 ${className}`} {...control} {...select}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.name}
            </option>
          ))}
        </select>
      )}
    </FieldFrame>
  );
}
