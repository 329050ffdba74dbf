/**
 * `createApp(deps)`: the whole HTTP surface as one Web-standard fetch handler (Hono). Pure: it
 * reads no environment, files or sockets — runtime entries (src/runtime/) build `deps` and serve it.
 */
import { Hono } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { AppDeps, HonoEnv } from "./deps.ts";
import { errorHandler, methodNotAllowedResponse, notFound } from "./http/error-handler.ts";
import { cors } from "./http/middleware/cors.ts";
import { noStore } from "./http/middleware/no-store.ts";
import { observe } from "./http/middleware/observe.ts";
import { requestId } from "./http/middleware/request-id.ts";
import { healthRoutes } from "./http/routes/health.ts";
import { wellKnownRoutes } from "./http/routes/well-known.ts";

export type App = Hono<HonoEnv>;

/** Prefixes of routes that carry `Cache-Control: no-store` (api.md §2.5, §2.11.9). */
const NO_STORE_PREFIXES = ["/accounts", "/tenants", "/admin"];

/**
 * JSON routes: served at their canonical path and under `/v1` with identical behaviour
 * (api.md §1). Later issues add their route groups here.
 */
function jsonApi(deps: AppDeps): App {
  const api = new Hono<HonoEnv>();
  for (const prefix of NO_STORE_PREFIXES) {
    api.use(prefix, noStore);
    api.use(`${prefix}/*`, noStore);
  }
  api.route("/", wellKnownRoutes(deps));
  return api;
}

export function createApp(deps: AppDeps): App {
  const app = new Hono<HonoEnv>({ strict: true });

  app.use(requestId(deps));
  app.use(observe(deps));
  // CORS applies to JSON routes only; /saml/*, /healthz, /readyz and /metrics never send it. It
  // wraps the 405 handling so that a preflight on a known path (405 for OPTIONS) becomes 204.
  const corsMiddleware = cors(deps.config.http.allowedOrigins);
  app.use("*", async (c, next) => {
    const p = c.req.path;
    if (p.startsWith("/saml/") || p === "/healthz" || p === "/readyz" || p === "/metrics") return next();
    return corsMiddleware(c, next);
  });
  app.use(methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedResponse }));

  app.route("/", healthRoutes(deps));
  const api = jsonApi(deps);
  app.route("/", api);
  app.route("/v1", api);

  app.notFound(notFound);
  app.onError(errorHandler(deps));
  return app;
}
