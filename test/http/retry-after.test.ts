/**
 * `Retry-After` is HTTP: services and stores only state, on the error, how long the caller should
 * wait (`TiktiError.retryAfterSeconds`); the error → HTTP mappers (src/http/error-handler.ts for the
 * JSON routes, src/http/oauth-errors.ts for `/oauth/*`) write the header from it.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppDeps, HonoEnv } from "../../src/deps.ts";
import { storeUnavailable, TiktiError } from "../../src/errors.ts";
import { errorHandler } from "../../src/http/error-handler.ts";
import { oauthErrorResponse } from "../../src/http/oauth-errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";

const deps = { logger: silentLogger, metrics: createMetrics() } as unknown as AppDeps;

/** An app whose one route throws `error`, answered by the JSON or the OAuth mapper. */
function throwing(error: TiktiError, mapper: "json" | "oauth"): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();
  app.onError(errorHandler(deps));
  app.post("/x", async (c) => {
    if (mapper === "oauth") return oauthErrorResponse(c, deps, error);
    throw error;
  });
  return app;
}

describe("Retry-After from the error's retryAfterSeconds", () => {
  it("JSON routes: 429 RATE_LIMITED carries the error's seconds, and nothing else changes", async () => {
    const res = await throwing(new TiktiError("RATE_LIMITED", { retryAfterSeconds: 37 }), "json").request(
      "/x",
      { method: "POST" },
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("37");
    expect(await res.json()).toEqual({ error: "too many attempts", code: "RATE_LIMITED" });
  });

  it("JSON routes: a store outage answers 503 with Retry-After: 5; an error without seconds has none", async () => {
    const outage = await throwing(storeUnavailable(new Error("down")), "json").request("/x", {
      method: "POST",
    });
    expect(outage.status).toBe(503);
    expect(outage.headers.get("retry-after")).toBe("5");
    const plain = await throwing(new TiktiError("INVALID_ARGUMENT"), "json").request("/x", {
      method: "POST",
    });
    expect(plain.status).toBe(400);
    expect(plain.headers.get("retry-after")).toBeNull();
  });

  it("OAuth routes: the same seconds on temporarily_unavailable", async () => {
    const res = await throwing(new TiktiError("RATE_LIMITED", { retryAfterSeconds: 12 }), "oauth").request(
      "/x",
      { method: "POST" },
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("12");
    expect((await res.json()).error).toBe("temporarily_unavailable");
  });
});
