// Reading a submitted form and the errors to show next to its fields.
import { problemOf } from "./states";

/** The text values of a submitted form, by field name. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  new FormData(form).forEach((value, name) => {
    if (typeof value === "string") values[name] = value;
  });
  return values;
}

/** A 422's messages by field, from a mutation's error (empty for other problems). */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  return error ? problemOf(error).fieldErrors : {};
}
