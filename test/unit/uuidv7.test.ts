import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/ids.ts";

describe("uuidv7 (RFC 9562)", () => {
  it("has version 7, the RFC variant and the millisecond timestamp in its first 48 bits", () => {
    const ms = Date.UTC(2026, 10, 22, 12, 0, 0, 123);
    const id = uuidv7(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(ms);
  });
  it("is unique and sorts by time", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
  });
});
