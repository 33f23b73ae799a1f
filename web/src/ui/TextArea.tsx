// A labelled multi-line input with its hint and its error, in the frame of every field.
import type { TextareaHTMLAttributes } from "react";
import { FieldFrame } from "./Field";

interface TextAreaProps extends TextareaHTMLAttributes<HTMLTextAreaElement> {
  label: string;
  name: string;
  hint?: string;
  error?: string | undefined;
}

export function TextArea({ label, name, hint, error, ...input }: TextAreaProps) {
  return (
    <FieldFrame label={label} hint={hint} error={error}>
      {(control) => <textarea name={name} rows={4} {...control} {...input} />}
    </FieldFrame>
  );
}
