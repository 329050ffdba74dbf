import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../../deps.ts";

const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS = "Content-Type, Authorization, X-API-Key, X-Request-ID";
const EXPOSE_HEADERS = "X-Request-ID, Retry-After";

/**
 * CORS allowlist for JSON routes (docs/spec/api.md §2.6). Origins are compared exactly after
 * lower-casing; credentials are never allowed. With an empty list no CORS header is ever sent.
 * A preflight from an allowed origin is answered 204 only when the path is a known route (the
 * request falls through to the router, which answers 405 for a known path without OPTIONS).
 */
export function cors(allowedOrigins: readonly string[]): MiddlewareHandler<HonoEnv> {
  const allowed = new Set(allowedOrigins.map((o) => o.toLowerCase()));
  return async (c, next) => {
    const origin = c.req.header("origin");
    const isPreflight = c.req.method === "OPTIONS" && origin !== undefined;
    const ok = origin !== undefined && allowed.has(origin.toLowerCase());
    if (isPreflight && !ok) return c.body(null, 403);
    await next();
    if (!ok) return;
    if (isPreflight && c.res.status === 405) {
      c.res = new Response(null, { status: 204 });
      c.res.headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
      c.res.headers.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
      c.res.headers.set("Access-Control-Max-Age", "600");
    }
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.append("Vary", "Origin");
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
  };
}
