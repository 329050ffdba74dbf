import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { JSON_CONTENT_TYPE, json } from "../../src/http/json-response.ts";

// The observation middleware trusts a stated Content-Length (it no longer re-reads the body), so
// the helpers must state the length in bytes, not in UTF-16 code units.
describe("json()", () => {
  it("states the byte length of a body with multi-byte characters", async () => {
    const app = new Hono().get("/", (c) => json(c, { name: "Zoë ✓ 𝄞" }, 201, { "X-Extra": "1" }));
    const res = await app.request("/");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
    expect(res.headers.get("x-extra")).toBe("1");
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ name: "Zoë ✓ 𝄞" });
    expect(res.headers.get("content-length")).toBe(String(bytes.byteLength));
    expect(bytes.byteLength).toBeGreaterThan(JSON.stringify({ name: "Zoë ✓ 𝄞" }).length);
  });
});
