import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { isTiktiError } from "../../errors.ts";

/**
 * After the response (src/http/middleware/front.ts): the access log line (docs/spec/operations.md §7)
 * and the HTTP series (§6), `tikti_auth_fail_total` included. Never logs the query string, headers or
 * bodies.
 */
export async function logAccess(
  deps: AppDeps,
  c: Context<HonoEnv>,
  started: number,
  bodyBytes: number,
): Promise<void> {
  const route = canonicalRoute(c);
  const status = loggedStatus(c);
  const method = c.req.method;
  const seconds = (performance.now() - started) / 1000;
  deps.metrics.httpRequests.inc({ route, method, status: String(status) });
  // The one place that counts authentication and authorisation failures: every 401/403 answer of
  // every route (guards, services, OAuth client authentication) once, never in routes or services.
  if (status === 401 || status === 403) {
    deps.metrics.authFail.inc({ route, code: await failureCode(c) });
  }
  deps.metrics.requestLatency.observe(seconds, { route });
  c.get("log").info("request", {
    method,
    route,
    path: c.req.path,
    status,
    durationMs: Math.round(seconds * 1e4) / 10,
    clientIp: c.get("clientIp"),
    userAgent: (c.req.header("user-agent") ?? "").slice(0, 256),
    bytesIn: Number(c.req.header("content-length") ?? 0) || 0,
    // HEAD sends the headers of GET, Content-Length included, but no body.
    bytesOut: method === "HEAD" ? 0 : bodyBytes,
  });
}

/**
 * Every response is small and already in memory (JSON, HTML forms, XML metadata, metrics text), so
 * its length is known: stating it lets HEAD answer the Content-Length of GET (Hono drops the body of
 * a HEAD after this middleware, and the server cannot count a body it never sees) and gives the
 * access log its `bytesOut`. Returns the body length.
 */
export async function fixContentLength(c: Context): Promise<number> {
  const res = c.res;
  // Stated by the body helpers (src/http/json-response.ts sizedBody): trusted, nothing re-read.
  // Reading `res.body` would turn the adapter's lightweight response into a stream-backed one.
  const stated = res.headers.get("content-length");
  if (stated !== null) return Number(stated);
  if (res.body === null) return 0;
  const body = new Uint8Array(await res.arrayBuffer());
  const fixed = new Response(body, res);
  fixed.headers.set("Content-Length", String(body.byteLength));
  c.res = undefined;
  c.res = fixed;
  return body.byteLength;
}

/**
 * The error code of a 401/403 answer: the `TiktiError` the error handler answered, else the body's
 * `code` (a Tikti error body) or `error` (an RFC 6749 body of `/oauth/*`), else `unknown`. Only
 * failures read the body (a copy), so successful answers stay untouched.
 */
async function failureCode(c: Context): Promise<string> {
  if (isTiktiError(c.error)) return c.error.code;
  try {
    const parsed: unknown = JSON.parse(await c.res.clone().text());
    if (parsed !== null && typeof parsed === "object") {
      const { code, error } = parsed as { code?: unknown; error?: unknown };
      if (typeof code === "string") return code;
      if (typeof error === "string") return error;
    }
  } catch {
    // Not JSON (an HTML page): the status alone is the fact.
  }
  return "unknown";
}

/**
 * The status the client saw, or would have: a connection the peer closed before the answer is a
 * client-closed outcome, logged 499 as proxies do (not a server failure, no 5xx series), and one
 * node:http cut at `http.requestTimeoutSeconds` is the 408 it wrote on the socket.
 */
function loggedStatus(c: Context<HonoEnv>): number {
  const closed = c.env?.connection?.closed();
  if (closed === "client") return CLIENT_CLOSED_REQUEST;
  if (closed === "timeout") return 408;
  return c.res.status;
}

/** Not an HTTP status a client can receive: the log and metric mark of a peer that left (nginx's). */
export const CLIENT_CLOSED_REQUEST = 499;

/** The matched route template with the `/v1` alias folded into its canonical form; `unmatched` else. */
export function canonicalRoute(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  const path = routes.at(-1)?.path;
  if (!path) return "unmatched";
  return path.startsWith("/v1/") ? path.slice(3) : path;
}
