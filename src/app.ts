/**
 * `createApp(deps)`: the whole HTTP surface as one Web-standard fetch handler (Hono). Pure: it
 * reads no environment, files or sockets — runtime entries (src/runtime/) build `deps` and serve it.
 */
import { Hono } from "hono";
import type { AppDeps, HonoEnv } from "./deps.ts";
import { errorHandler, notFound } from "./http/error-handler.ts";
import { JSON_CONTENT_TYPE } from "./http/json-response.ts";
import { adminGuard } from "./http/middleware/admin.ts";
import { apiKeyReader, requireApiKey } from "./http/middleware/api-key.ts";
import { front } from "./http/middleware/front.ts";
import { buildOpenApi } from "./http/openapi.ts";
import { type AuthGuards, mountRoutes, type RouteContext, type RouteSpec } from "./http/route.ts";
import { pageRouteDocs } from "./http/route-docs.ts";
import { accountRoutes } from "./http/routes/accounts.ts";
import { adminAccountRoutes } from "./http/routes/admin-accounts.ts";
import { healthRoutes } from "./http/routes/health.ts";
import { oauthRoutes } from "./http/routes/oauth.ts";
import { refreshTokenRoutes } from "./http/routes/refresh-tokens.ts";
import { samlAdminRoutes } from "./http/routes/saml-admin.ts";
import { samlBrowserRoutes } from "./http/routes/saml-browser.ts";
import { samlBrowserMetaRoutes } from "./http/routes/saml-browser-meta.ts";
import { tenantRoutes } from "./http/routes/tenants.ts";
import { tokenRoutes } from "./http/routes/tokens.ts";
import { wellKnownRoutes } from "./http/routes/well-known.ts";
import { createServices, type Services } from "./services/index.ts";
import { VERSION } from "./version.ts";

export type App = Hono<HonoEnv> & { readonly routeSpecs: readonly RouteSpec[]; readonly services: Services };

/**
 * Every JSON route of the API, in documentation order. A route group is a function
 * `(deps, services) => RouteSpec[]` in src/http/routes/<group>.ts; add new groups here.
 */
function routeSpecs(ctx: RouteContext): RouteSpec[] {
  return [
    ...wellKnownRoutes(ctx),
    ...accountRoutes(ctx),
    ...refreshTokenRoutes(ctx),
    ...tokenRoutes(ctx),
    ...oauthRoutes(ctx),
    ...adminAccountRoutes(ctx),
    ...tenantRoutes(ctx),
    ...samlAdminRoutes(ctx),
  ];
}

/**
 * JSON routes: one sub-app served at the canonical paths and under `/v1` with identical behaviour
 * (docs/spec/api.md §1).
 */
function jsonApi(specs: readonly RouteSpec[], guards: AuthGuards, openApiBody: () => string): Hono<HonoEnv> {
  const api = new Hono<HonoEnv>();
  mountRoutes(api, specs, guards);
  api.get("/openapi.json", (c) => c.body(openApiBody(), 200, { "Content-Type": JSON_CONTENT_TYPE }));
  return api;
}

export function createApp(deps: AppDeps): App {
  // Immutable after construction (AppDeps is read-only in its type; this holds for plain JS too):
  // every service below captures these collaborators once, so a later swap would split the app.
  Object.freeze(deps);
  const app = new Hono<HonoEnv>({ strict: true });
  const services = createServices(deps);
  const readApiKey = apiKeyReader(deps.config.apiKey, deps.sha256Sync);
  const keyGuard = requireApiKey(readApiKey);
  const admin = adminGuard({
    keyGuard,
    requireAdminToken: deps.config.admin.requireAdminToken,
    verifyIdToken: services.verifyIdToken,
  });
  const guards: AuthGuards = { key: keyGuard, admin: admin.guard };
  const specs = routeSpecs({
    deps,
    services,
    auth: {
      apiKey: readApiKey,
      requireAdminBearer: (c) => admin.requireBearer(c, async () => {}).then(() => undefined),
    },
  });
  // Built on the first GET /openapi.json rather than here: the zod → JSON Schema walk is the
  // costliest part of createApp, and most apps (test apps, workers) never serve the document.
  let openApiBody: string | undefined;
  const openApi = (): string => {
    openApiBody ??= JSON.stringify(
      buildOpenApi(
        specs,
        { version: VERSION.version, serverUrl: deps.config.issuerBaseUrl },
        pageRouteDocs(deps.config),
      ),
    );
    return openApiBody;
  };

  // Request id, client IP, CORS, 405, no-store, access log and metrics: one layer in front of all.
  app.use(front(deps, app));

  app.route("/", healthRoutes(deps, services.readinessChecks));
  app.route("/", samlBrowserMetaRoutes(deps, services));
  app.route("/", samlBrowserRoutes(deps, services));
  const api = jsonApi(specs, guards, openApi);
  app.route("/", api);
  app.route("/v1", api);

  app.notFound(notFound);
  app.onError(errorHandler(deps));
  return Object.assign(app, { routeSpecs: specs, services });
}
