/**
 * Request bodies read through the real HTTP server (node:http + @hono/node-server, the server of
 * every runtime): a body with a declared length is read without building a WHATWG Request (whose
 * AbortController and web streams survive V8's scavenges and made the POST routes' latency tail,
 * docs/adr/0115-request-bodies-without-web-streams.md), and the size limit still holds for both a
 * declared and a chunked body.
 */
import { request } from "node:http";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HonoEnv } from "../../src/deps.ts";
import { TiktiError } from "../../src/errors.ts";
import { readJsonObject } from "../../src/http/json-body.ts";
import { readOAuthForm } from "../../src/http/oauth-form.ts";
import type { RunningServer } from "../../src/runtime/adapter.ts";
import { serveHttp } from "../../src/runtime/http-server.ts";
import { OAuthError } from "../../src/services/oauth/errors.ts";

const LIMIT = 64;

function app() {
  const a = new Hono<HonoEnv>();
  a.post("/json", async (c) => c.json(await readJsonObject(c, { limit: LIMIT })));
  a.post("/form", async (c) => c.json(Object.fromEntries(await readOAuthForm(c, LIMIT))));
  a.onError((e, c) => {
    if (e instanceof TiktiError) return c.json(e.toBody(), e.status as 400);
    if (e instanceof OAuthError) return c.json(e.toBody(), e.status as 400);
    return c.json({ error: String(e) }, 500);
  });
  return a;
}

let server: RunningServer;
let base: string;

beforeAll(async () => {
  const a = app();
  server = await serveHttp({
    fetch: (req, env) => a.fetch(req, env),
    hostname: "127.0.0.1",
    port: 0,
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 10,
    keepAliveTimeoutSeconds: 5,
    maxHeaderBytes: 8192,
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop(0);
});

/** Counts AbortControllers built while `fn` runs (in this process: the server is in-process). */
async function countAbortControllers(fn: () => Promise<void>): Promise<number> {
  const Original = globalThis.AbortController;
  let built = 0;
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      built++;
    }
  };
  try {
    await fn();
  } finally {
    globalThis.AbortController = Original;
  }
  return built;
}

afterEach(() => {
  expect(globalThis.AbortController.name).toBe("AbortController");
});

/** A POST through node:http's client, which (unlike fetch) builds no AbortController of its own. */
function post(path: string, contentType: string, body: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: "POST", headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A POST whose body goes out in chunks without a Content-Length (Transfer-Encoding: chunked). */
function chunked(path: string, contentType: string, parts: string[]) {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: stream,
    duplex: "half",
  } as RequestInit);
}

describe("request bodies through the server (docs/spec/api.md §2.4)", () => {
  it("reads a JSON body and a form body with a Content-Length without building a WHATWG Request", async () => {
    const built = await countAbortControllers(async () => {
      for (let i = 0; i < 5; i++) {
        const json = await post("/json", "application/json", JSON.stringify({ i }));
        expect(json).toEqual({ status: 200, body: { i } });
        const form = await post("/form", "application/x-www-form-urlencoded", `grant_type=x&n=${i}`);
        expect(form).toEqual({ status: 200, body: { grant_type: "x", n: String(i) } });
      }
    });
    // Before ADR 0115: two per request (@hono/node-server's and the WHATWG Request's own), 20 here.
    expect(built).toBe(0);
  });

  it("refuses a declared length over the limit with 413 before reading", async () => {
    const res = await fetch(`${base}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "x".repeat(LIMIT) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });

  it("streams a chunked body: within the limit it is read, over it 413", async () => {
    const ok = await chunked("/json", "application/json", ['{"a":', '"b"}']);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ a: "b" });
    const big = await chunked("/json", "application/json", ['{"a":"', "x".repeat(LIMIT), '"}']);
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    const form = await chunked("/form", "application/x-www-form-urlencoded", ["a=", "y".repeat(LIMIT)]);
    expect(form.status).toBe(413);
    expect(await form.json()).toMatchObject({ error: "invalid_request" });
  });

  it("still answers 400 for an empty POST without Content-Type and 415 for one with a body", async () => {
    const empty = await fetch(`${base}/json`, { method: "POST" });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ code: "INVALID_REQUEST" });
    const typeless = await chunked("/json", "", ['{"a":1}']);
    expect(typeless.status).toBe(415);
  });
});
