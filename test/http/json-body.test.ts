import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { HonoEnv } from "../../src/deps.ts";
import { TiktiError } from "../../src/errors.ts";
import { parseStrictJson, readJsonObject } from "../../src/http/json-body.ts";

// A tiny app around the body reader, with the same error mapping shape as the real one.
function app(limit?: number) {
  const a = new Hono<HonoEnv>();
  a.post("/echo", async (c) => c.json(await readJsonObject(c, limit ? { limit } : {})));
  a.onError((e, c) =>
    e instanceof TiktiError ? c.json(e.toBody(), e.status as 400) : c.json({ error: "internal" }, 500),
  );
  return a;
}

const post = (
  body: BodyInit | null,
  headers: Record<string, string> = { "content-type": "application/json" },
) => app().request("/echo", { method: "POST", body, headers });

describe("readJsonObject (docs/spec/api.md §2.4)", () => {
  it("accepts one JSON object, with or without a charset parameter", async () => {
    for (const ct of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
    ]) {
      const res = await post('{"a":1,"b":{"c":[1,2]}}', { "content-type": ct });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ a: 1, b: { c: [1, 2] } });
    }
  });

  it("refuses other media types with 415, and a body without Content-Type with 415", async () => {
    expect((await post('{"a":1}', { "content-type": "text/plain" })).status).toBe(415);
    expect((await post("a=1", { "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
    const res = await post('{"a":1}', {});
    // fetch adds text/plain for string bodies; a stream body has no content type at all
    expect(res.status).toBe(415);
  });

  it("answers 400 INVALID_REQUEST for an empty body without Content-Type", async () => {
    const res = await app().request("/echo", { method: "POST" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST" });
  });

  it("answers 413 when Content-Length exceeds the limit, before reading", async () => {
    const res = await app(10).request("/echo", {
      method: "POST",
      body: '{"a":"0123456789"}',
      headers: { "content-type": "application/json", "content-length": "18" },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "request body too large", code: "PAYLOAD_TOO_LARGE" });
  });

  it("answers 413 while streaming a body without Content-Length and stops reading it", async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode(" ".repeat(16 * 1024)));
        if (pulled > 1000) controller.close();
      },
    });
    const req = new Request("http://x/echo", {
      method: "POST",
      body: stream,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    const res = await app().fetch(req);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(10); // 64 KiB limit = 4-5 chunks, not the whole 16 MB
  });

  it.each([
    ["[1,2]", "array"],
    ['"text"', "scalar"],
    ["null", "null"],
    ['{"a":1} {"b":2}', "trailing data"],
    ['{"a":1,"a":2}', "duplicate key"],
    ['{"x":{"a":1,"a":2}}', "nested duplicate key"],
    ['{"x":[{"k":1,"k":1}]}', "duplicate inside an array"],
    ['{"a":1,}', "trailing comma"],
    ["{'a':1}", "single quotes"],
    ['{"a":01}', "leading zero"],
    ['{"a":"\u0001"}', "raw control character"],
    ["", "empty"],
  ])("refuses %s (%s) with 400 INVALID_REQUEST", async (body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe("INVALID_REQUEST");
  });

  it("refuses invalid UTF-8 with 400", async () => {
    const res = await post(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]));
    expect(res.status).toBe(400);
  });

  it("keeps a __proto__ key as plain data and never touches the prototype", () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(["__proto__", "a"]);
  });

  it("decodes escapes and unicode like JSON.parse", () => {
    const text = '{"s":"a\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00","n":-1.5e3,"t":true,"f":false,"z":null}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it("refuses pathological nesting instead of overflowing the stack", () => {
    expect(() => parseStrictJson(`${"[".repeat(10_000)}${"]".repeat(10_000)}`)).toThrow(TiktiError);
  });
});
