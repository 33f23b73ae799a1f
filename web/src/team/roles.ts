// Roles in a team and who may do what to whom, as the server decides it (shown before asking).
import type { components } from "../api/schema";

export type Role = components["schemas"]["Role"];
export type Member = components["schemas"]["MemberView"];

export const ROLES: readonly Role[] = ["owner", "admin", "member", "viewer"];

const ROLE_WORDS: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member", viewer: "Viewer" };

export function roleName(role: Role): string {
  return ROLE_WORDS[role];
}

/** Owners and admins manage members. */
export function managesMembers(role: Role): boolean {
  return role === "owner" || role === "admin";
}

/** The roles ``actor`` may give: only an owner makes owners. */
export function assignableRoles(actor: Role): Role[] {
  return ROLES.filter((role) => role !== "owner" || actor === "owner");
}

/** Why ``actor`` (``self`` when it is their own row) may not change or remove ``target``; null when they may. */
export function refusalFor(actor: Role, target: Member, self: boolean): string | null {
  if (self) return "This is you";
  if (!managesMembers(actor)) return "Only owners and admins manage members";
  if (target.role === "owner" && actor !== "owner") return "Only an owner changes an owner";
  return null;
}
