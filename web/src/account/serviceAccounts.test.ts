// Who manages service accounts, which scopes they may give, and how an account's state reads.
import { describe, expect, it } from "vitest";
import {
  accountStatus,
  chosenScopes,
  grantableScopes,
  managesServiceAccounts,
  scopeWords,
  type ServiceAccount,
} from "./serviceAccounts";

const ADMIN = ["billing:read", "conversations:read", "service_accounts:manage", "platform:operate", "billing:read"];

describe("service accounts", () => {
  it("are managed by holders of service_accounts:manage only", () => {
    expect(managesServiceAccounts(ADMIN)).toBe(true);
    expect(managesServiceAccounts(["conversations:read", "members:read"])).toBe(false);
  });

  it("get the creator's own scopes, never platform:operate, each once and sorted", () => {
    expect(grantableScopes(ADMIN)).toEqual(["billing:read", "conversations:read", "service_accounts:manage"]);
  });

  it("keep only the ticked scopes the creator may give", () => {
    const grantable = grantableScopes(ADMIN);
    expect(chosenScopes(["conversations:read", "platform:operate", "members:manage"], grantable)).toEqual([
      "conversations:read",
    ]);
  });

  it("name scopes in words, and unknown ones as they are", () => {
    expect(scopeWords("conversations:read")).toBe("Read conversations");
    expect(scopeWords("reports:read")).toBe("reports:read");
  });

  it("read as active until revoked", () => {
    const account: ServiceAccount = {
      id: "sa_1",
      name: "CI",
      client_id: "cli_1",
      scopes: [],
      created_at: "2026-01-01T00:00:00Z",
    };
    const when = (iso: string) => iso.slice(0, 10);
    expect(accountStatus(account, when)).toBe("Active");
    expect(accountStatus({ ...account, revoked_at: "2026-02-03T04:05:06Z" }, when)).toBe("Revoked 2026-02-03");
  });
});
