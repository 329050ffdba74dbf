/**
 * Connection limits (docs/spec/operations.md §2.2 `http.*`, issue 11 item 10) and the access log / HEAD /
 * client-disconnect behaviour (item 16), on the real server of each runtime, driven by raw TCP
 * sockets so that nothing between the test and the server smooths the timing. Small configured
 * deadlines keep it fast; each timing is asserted from both sides (not before the deadline, and
 * not long after it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveHttp } from "../../src/runtime/http-server.ts";
import { closedWithin, rawConnect, trickle } from "../support/raw-http.ts";
import { type RuntimeName, startTikti, type TiktiProcess } from "../support/tikti-process.ts";

const HEADERS_S = 1;
const REQUEST_S = 2;
// Longer than the others on purpose: Bun.serve's single idle timeout was max(headers, keepAlive),
// so a slow body was only cut at the keep-alive deadline; with this value that shows.
const KEEP_ALIVE_S = 4;
// node:http keeps an idle keep-alive socket 1 s past keepAliveTimeout (its margin against a client
// reusing the connection at the very moment it closes).
const KEEP_ALIVE_MARGIN_S = 1;
/** Allowed lateness past a deadline: the 250 ms check interval plus scheduling on a busy machine. */
const SLACK_S = 1.5;

function accessLog(server: TiktiProcess): Array<Record<string, unknown>> {
  return server
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "request");
}

/** Waits for the "connection refused" log line of the connection from local port `port`. */
async function refusalFor(server: TiktiProcess, port: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = server
      .stdout()
      .split("\n")
      .filter((l) => l.includes('"msg":"connection refused by HTTP limits"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.remotePort === port);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no refusal logged for port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the access-log line of the request that carried `userAgent`. */
async function logLineFor(server: TiktiProcess, userAgent: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = accessLog(server).find((l) => l.userAgent === userAgent);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no access log line for ${userAgent}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each<RuntimeName>(["bun", "node", "deno"])("HTTP limits on %s", (runtime) => {
  let server: TiktiProcess;
  beforeAll(async () => {
    server = await startTikti({
      runtime,
      config: {
        http: {
          headersTimeoutSeconds: HEADERS_S,
          requestTimeoutSeconds: REQUEST_S,
          keepAliveTimeoutSeconds: KEEP_ALIVE_S,
          maxHeaderBytes: 4096,
          shutdownDelaySeconds: 0,
          shutdownGraceSeconds: 1,
        },
        // /metrics on the main port, where the test reads it.
        metrics: { enabled: true, port: 0 },
      },
    });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
  });

  it.concurrent("cuts a header sent byte by byte at headersTimeoutSeconds with 408", async () => {
    const raw = await rawConnect(server.port);
    trickle(raw.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`, 100);
    const t = await closedWithin(raw, HEADERS_S + SLACK_S + 5);
    expect(t).toBeGreaterThanOrEqual(HEADERS_S - 0.1);
    expect(t).toBeLessThanOrEqual(HEADERS_S + SLACK_S);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    // No request reached the app, so no access log line: the refusal is logged instead.
    expect(await refusalFor(server, raw.localPort)).toMatchObject({
      level: "info",
      reason: "timeout",
      remoteAddr: "127.0.0.1",
    });
  });

  it.concurrent("cuts a slow body at requestTimeoutSeconds with 408 and logs it as 408", async () => {
    const raw = await rawConnect(server.port);
    raw.socket.write(
      "POST /accounts/signIn HTTP/1.1\r\nHost: x\r\nUser-Agent: slow-body\r\nContent-Type: application/json\r\n" +
        "Content-Length: 1000\r\n\r\n",
    );
    trickle(raw.socket, " ".repeat(1000), 100);
    const t = await closedWithin(raw, REQUEST_S + SLACK_S + 5);
    expect(t).toBeGreaterThanOrEqual(REQUEST_S - 0.1);
    expect(t).toBeLessThanOrEqual(REQUEST_S + SLACK_S);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    const line = await logLineFor(server, "slow-body");
    expect(line).toMatchObject({ status: 408, route: "/accounts/signIn" });
    // The request reached the app and has its access log line; it is not also a refusal.
    expect(server.stdout()).not.toContain(`"remotePort":${raw.localPort}`);
  });

  it.concurrent("closes an idle keep-alive connection after keepAliveTimeoutSeconds", async () => {
    const raw = await rawConnect(server.port);
    raw.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const t = await closedWithin(raw, KEEP_ALIVE_S + KEEP_ALIVE_MARGIN_S + SLACK_S + 5);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(t).toBeGreaterThanOrEqual(KEEP_ALIVE_S - 0.1);
    expect(t).toBeLessThanOrEqual(KEEP_ALIVE_S + KEEP_ALIVE_MARGIN_S + SLACK_S);
  });

  it.concurrent("answers 431 to a header over maxHeaderBytes and serves one under it", async () => {
    const send = async (headerBytes: number) => {
      const raw = await rawConnect(server.port);
      raw.socket.end(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(headerBytes)}\r\n\r\n`);
      await closedWithin(raw, 10);
      if (raw.received().startsWith("HTTP/1.1 431 ")) {
        expect(await refusalFor(server, raw.localPort)).toMatchObject({ reason: "header too large" });
      }
      return raw.received();
    };
    // 20 KiB is refused by every default; 6 KiB only by the configured 4096.
    expect(await send(20 * 1024)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await send(6 * 1024)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await send(2 * 1024)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it.concurrent("logs a client that disconnects mid-body as 499, without an error log or a 5xx series", async () => {
    const raw = await rawConnect(server.port);
    raw.socket.write(
      "POST /accounts/signIn HTTP/1.1\r\nHost: x\r\nUser-Agent: gone-mid-body\r\nContent-Type: application/json\r\n" +
        'Content-Length: 1000\r\n\r\n{"email":',
    );
    await new Promise((r) => setTimeout(r, 200));
    raw.socket.destroy();
    const line = await logLineFor(server, "gone-mid-body");
    expect(line).toMatchObject({ status: 499, route: "/accounts/signIn", level: "info" });
    const errors = server
      .stdout()
      .split("\n")
      .filter((l) => l.includes(`"requestId":"${line.requestId}"`) && l.includes('"level":"error"'));
    expect(errors).toEqual([]);
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /tikti_http_requests_total\{method="POST",route="\/accounts\/signIn",status="499"\} \d+/,
    );
    expect(metrics).not.toMatch(/route="\/accounts\/signIn",status="5\d\d"/);
  });

  it.concurrent("HEAD answers the Content-Length of GET with no body; bytesOut counts the body sent", async () => {
    for (const path of ["/.well-known/jwks.json", "/healthz", "/nope"]) {
      const get = await fetch(`${server.baseUrl}${path}`, { headers: { "User-Agent": `get ${path}` } });
      const body = new Uint8Array(await get.arrayBuffer());
      expect(body.byteLength).toBeGreaterThan(0);
      expect(get.headers.get("content-length")).toBe(String(body.byteLength));
      const head = await fetch(`${server.baseUrl}${path}`, {
        method: "HEAD",
        headers: { "User-Agent": `head ${path}` },
      });
      expect(head.status).toBe(get.status);
      expect(head.headers.get("content-length")).toBe(String(body.byteLength));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      expect(await logLineFor(server, `get ${path}`)).toMatchObject({ bytesOut: body.byteLength });
      expect(await logLineFor(server, `head ${path}`)).toMatchObject({ bytesOut: 0, method: "HEAD" });
    }
  });
});

describe("serveHttp", () => {
  it("starts with a header deadline longer than the request deadline and cuts headers at the shorter", async () => {
    // node:http throws ERR_OUT_OF_RANGE for headersTimeout > requestTimeout; the server used to fail
    // to listen with such a configuration.
    const server = await serveHttp({
      fetch: () => new Response("ok"),
      hostname: "127.0.0.1",
      port: 0,
      headersTimeoutSeconds: 20,
      requestTimeoutSeconds: 1,
      keepAliveTimeoutSeconds: 5,
      maxHeaderBytes: 8192,
    });
    try {
      const raw = await rawConnect(server.port);
      trickle(raw.socket, `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`, 100);
      const t = await closedWithin(raw, 10);
      expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(t).toBeGreaterThanOrEqual(0.9);
      expect(t).toBeLessThanOrEqual(1 + SLACK_S);
    } finally {
      await server.stop(0);
    }
  });
});
