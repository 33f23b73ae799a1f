// How the app shows a moment: the reader's own date and time format, or a placeholder when there is none.

/** ``iso`` in the reader's locale, or ``missing`` ("—" unless told) when it is not set. */
export function when(iso: string | null | undefined, missing = "—"): string {
  return iso ? new Date(iso).toLocaleString() : missing;
}
