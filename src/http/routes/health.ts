import { Hono } from "hono";
import type { AppDeps, HonoEnv, ReadinessCheck } from "../../deps.ts";
import { json } from "../json-response.ts";

const STORE_PING_TIMEOUT_MS = 500;

/**
 * `/healthz`, `/readyz`, `/metrics` (docs/spec/operations.md §5–§6). No `/v1` alias, no CORS.
 * `readinessChecks`: the extra checks of the app (`Services.readinessChecks`).
 */
export function healthRoutes(
  deps: AppDeps,
  readinessChecks: Readonly<Record<string, ReadinessCheck>>,
): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();

  app.get("/healthz", (c) => json(c, { status: "ok" }));

  app.get("/readyz", async (c) => {
    const checks: Record<string, string> = {
      store: await storeCheck(deps),
      signingKey: deps.keys?.signingKey ? "ok" : "signing key not loaded",
      saml: "ok",
      shutdown: deps.lifecycle.shuttingDown ? "shutting down" : "ok",
    };
    for (const [name, check] of Object.entries(readinessChecks)) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = "check failed";
      }
    }
    const ready = Object.values(checks).every((v) => v === "ok");
    return json(c, { status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });

  if (deps.config.metrics.enabled && deps.config.metrics.port === 0) {
    app.get("/metrics", () => metricsResponse(deps));
  }
  return app;
}

export function metricsResponse(deps: AppDeps): Response {
  deps.metrics.jwksKeys.set(deps.keys?.jwks.keys.length ?? 0);
  const body = deps.metrics.render() + (deps.processMetrics?.() ?? "");
  return new Response(body, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
}

async function storeCheck(deps: AppDeps): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("store did not answer in time"), STORE_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([deps.store.ping().then(() => "ok"), timeout]);
  } catch {
    return "store unavailable";
  } finally {
    clearTimeout(timer);
  }
}
