import { describe, expect, it } from "vitest";
import { seatsWords } from "./seats";

const STARTER = { name: "Starter", limits: { seats: 10 } };

describe("seats", () => {
  it("counts the members against the plan's seats", () => {
    expect(seatsWords({ used: 2, plan: STARTER, failed: false })).toBe("2 of 10 seats used on Starter");
    expect(seatsWords({ used: 3, plan: { name: "Enterprise", limits: { seats: null } }, failed: false })).toBe(
      "3 seats used, no limit on Enterprise",
    );
  });

  // The line stands above the invite button from the first render: were it empty until the members
  // arrive, their answer would push the button down under a click already on its way.
  it("has a line while the members or the plan load, and after they fail", () => {
    expect(seatsWords({ used: undefined, plan: STARTER, failed: false })).toBe("Counting the seats used…");
    expect(seatsWords({ used: 1, plan: undefined, failed: false })).toBe("Counting the seats used…");
    expect(seatsWords({ used: undefined, plan: undefined, failed: true })).toBe("Seats used: not known right now.");
  });
});
