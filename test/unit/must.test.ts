import { describe, expect, it } from "vitest";
import { isTiktiError } from "../../src/errors.ts";
import { must, only } from "../../src/must.ts";

describe("must (ADR 0090)", () => {
  it("returns a present value as it is, falsy ones included", () => {
    expect(must("x", "a")).toBe("x");
    expect(must(0, "a")).toBe(0);
    expect(must("", "a")).toBe("");
    expect(must(false, "a")).toBe(false);
  });

  it.each([undefined, null])(
    "fails closed on %s with an INTERNAL error that names the value only in its cause",
    (v) => {
      let caught: unknown;
      try {
        must(v, "the second regex group");
      } catch (e) {
        caught = e;
      }
      expect(isTiktiError(caught)).toBe(true);
      if (!isTiktiError(caught)) return;
      expect(caught.code).toBe("INTERNAL");
      expect(caught.toBody()).toEqual({ error: "internal error", code: "INTERNAL" });
      expect(String((caught.cause as Error).message)).toContain("the second regex group");
    },
  );
});

describe("only (ADR 0090)", () => {
  it("gives the element of a one-element list and undefined for none or several", () => {
    expect(only(["a"])).toBe("a");
    expect(only([0])).toBe(0);
    expect(only([])).toBeUndefined();
    expect(only(["a", "b"])).toBeUndefined();
  });
});
