import { describe, expect, it } from "vitest";
import { assignableRoles, managesMembers, refusalFor, roleName, type Member } from "./roles";

function member(role: Member["role"]): Member {
  return { user_id: `usr_${role}`, email: `${role}@example.com`, role, joined_at: "2026-12-01T00:00:00Z" };
}

describe("roles", () => {
  it("owners and admins manage members", () => {
    expect(["owner", "admin", "member", "viewer"].map((role) => managesMembers(role as Member["role"]))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(roleName("viewer")).toBe("Viewer");
  });

  it("only an owner gives the owner role", () => {
    expect(assignableRoles("owner")).toEqual(["owner", "admin", "member", "viewer"]);
    expect(assignableRoles("admin")).toEqual(["admin", "member", "viewer"]);
  });

  it("says why a member cannot be changed, as the server would refuse it", () => {
    expect(refusalFor("owner", member("owner"), false)).toBeNull();
    expect(refusalFor("admin", member("member"), false)).toBeNull();
    expect(refusalFor("admin", member("owner"), false)).toBe("Only an owner changes an owner");
    expect(refusalFor("member", member("viewer"), false)).toBe("Only owners and admins manage members");
    expect(refusalFor("owner", member("owner"), true)).toBe("This is you");
  });
});
