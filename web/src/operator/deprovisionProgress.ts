// What the operator reads of a deprovisioning: the progress of the services' parts, and whether
// the name typed to confirm it is the tenant's.
import type { components } from "../api/schema";

export type DataPart = components["schemas"]["DataPart"];

/** "2 of 4 services have deleted their data" for the parts of a deprovisioning. */
export function progressSummary(parts: DataPart[]): string {
  const deleted = parts.filter((part) => part.status === "deleted").length;
  const services = parts.length === 1 ? "service has deleted its" : "services have deleted their";
  return `${deleted} of ${parts.length} ${services} data`;
}

/** The typed confirmation matches the tenant's name (surrounding spaces aside, case kept). */
export function confirmsName(typed: string, name: string): boolean {
  return typed.trim() === name.trim() && name.trim() !== "";
}
