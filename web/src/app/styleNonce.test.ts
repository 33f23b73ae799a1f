// The style nonce read from the page the gateway served.
import { describe, expect, it } from "vitest";
import { styleNonceOf } from "./styleNonce";

function pageWith(meta: { content: string } | null): ParentNode {
  return {
    querySelector: (selector: string) => (selector === 'meta[name="csp-nonce"]' ? meta : null),
  } as unknown as ParentNode;
}

describe("styleNonceOf", () => {
  it("reads the gateway's csp-nonce meta", () => {
    expect(styleNonceOf(pageWith({ content: "n0nce-from-the-gateway" }))).toBe("n0nce-from-the-gateway");
  });

  it("gives nothing without the meta or with an empty one (Vite's dev server)", () => {
    expect(styleNonceOf(pageWith(null))).toBeUndefined();
    expect(styleNonceOf(pageWith({ content: "" }))).toBeUndefined();
  });
});
