import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { parseCidr, resolveClientIp } from "../../net/ip.ts";

/**
 * Resolves the client IP, then after the response: the access log line (operations.md §7) and the
 * HTTP series (§6). Never logs the query string, headers or bodies.
 */
export function observe(deps: AppDeps): MiddlewareHandler<HonoEnv> {
  const trusted = deps.config.http.trustedProxies.map((c) => parseCidr(c)!).filter(Boolean);
  return async (c, next) => {
    const started = performance.now();
    const socket = c.env?.remoteAddr ?? "";
    c.set("clientIp", resolveClientIp(socket, c.req.header("x-forwarded-for"), trusted));
    await next();
    const route = canonicalRoute(c);
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.httpRequests.inc({ route, method: c.req.method, status: String(status) });
    deps.metrics.requestLatency.observe(seconds, { route });
    c.get("log").info("request", {
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      durationMs: Math.round(seconds * 1e4) / 10,
      clientIp: c.get("clientIp"),
      userAgent: (c.req.header("user-agent") ?? "").slice(0, 256),
      bytesIn: Number(c.req.header("content-length") ?? 0) || 0,
      bytesOut: Number(c.res.headers.get("content-length") ?? 0) || 0,
    });
  };
}

/** The matched route template with the `/v1` alias folded into its canonical form; `unmatched` else. */
export function canonicalRoute(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  const path = routes.at(-1)?.path;
  if (!path) return "unmatched";
  return path.startsWith("/v1/") ? path.slice(3) : path;
}
