/**
 * The access log's `bytesOut`, HEAD's Content-Length and the outcome of a request whose connection
 * ended mid-body (docs/spec/operations.md §7, issue 11 item 16), in process. test/runtime/http-limits.test.ts
 * proves the same through the real server of each runtime.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionState } from "../../src/deps.ts";
import { createLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

describe("access log, HEAD and closed connections", () => {
  let store: KV;
  let t: TestApp;
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    store = await openTempEmbedded();
    t = await buildTestApp({
      store,
      extend: (deps) => ({
        ...deps,
        logger: createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>), "debug"),
      }),
    });
  });
  afterAll(async () => {
    await store.close();
  });

  const logOf = (requestId: string | null) => lines.filter((l) => l.requestId === requestId);
  const accessOf = (requestId: string | null) => logOf(requestId).find((l) => l.msg === "request");

  it("states Content-Length on every response and logs it as bytesOut; HEAD gets GET's length, no body", async () => {
    const cases: Array<[string, RequestInit]> = [
      ["/.well-known/jwks.json", {}],
      ["/healthz", {}],
      ["/nope", {}],
      ["/openapi.json", {}],
      ["/accounts/signIn", { method: "POST", headers: { "content-type": "application/json" }, body: "{" }],
    ];
    for (const [path, init] of cases) {
      const res = await t.app.request(path, init, { remoteAddr: "192.0.2.10" });
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.byteLength, path).toBeGreaterThan(0);
      expect(res.headers.get("content-length"), path).toBe(String(body.byteLength));
      expect(accessOf(res.headers.get("x-request-id"))?.bytesOut, path).toBe(body.byteLength);
      if (init.method) continue;
      const head = await t.app.request(path, { method: "HEAD" }, { remoteAddr: "192.0.2.10" });
      expect(head.status).toBe(res.status);
      expect(head.headers.get("content-length"), path).toBe(String(body.byteLength));
      expect(head.body).toBeNull();
      expect(accessOf(head.headers.get("x-request-id"))).toMatchObject({ method: "HEAD", bytesOut: 0 });
    }
  });

  /** A sign-in whose body stream fails after a few bytes, as a reset connection makes it fail. */
  async function brokenBodySignIn(connection?: ConnectionState) {
    const requestId = crypto.randomUUID();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"email":'));
        controller.error(new Error("aborted"));
      },
    });
    const req = new Request("http://localhost/accounts/signIn", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "1000", "x-request-id": requestId },
      body,
      duplex: "half",
    } as RequestInit);
    const res = await t.app.request(req, undefined, { remoteAddr: "192.0.2.10", connection });
    return { res, requestId };
  }

  it("logs a client that left mid-body as 499 at info, with no error log and no 5xx series", async () => {
    const { requestId } = await brokenBodySignIn({ closed: () => "client" });
    expect(accessOf(requestId)).toMatchObject({ status: 499, level: "info", route: "/accounts/signIn" });
    expect(logOf(requestId).filter((l) => l.level === "error")).toEqual([]);
    const metrics = await (await t.app.request("/metrics")).text();
    expect(metrics).toMatch(
      /tikti_http_requests_total\{method="POST",route="\/accounts\/signIn",status="499"\} 1/,
    );
    expect(metrics).not.toMatch(/route="\/accounts\/signIn",status="5\d\d"/);
  });

  it("logs a request cut at the request deadline as 408", async () => {
    const { requestId } = await brokenBodySignIn({ closed: () => "timeout" });
    expect(accessOf(requestId)).toMatchObject({ status: 408, level: "info" });
    expect(logOf(requestId).filter((l) => l.level === "error")).toEqual([]);
  });

  it("still answers and logs 500 INTERNAL when the body fails on an open connection", async () => {
    const { res, requestId } = await brokenBodySignIn({ closed: () => undefined });
    expect(res.status).toBe(500);
    expect(accessOf(requestId)).toMatchObject({ status: 500 });
    expect(logOf(requestId).some((l) => l.level === "error" && l.msg === "request failed")).toBe(true);
  });
});
