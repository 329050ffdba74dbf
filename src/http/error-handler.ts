import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import type { AppDeps, HonoEnv } from "../deps.ts";
import { isTiktiError, TiktiError } from "../errors.ts";
import { json } from "./json-response.ts";
import { CLIENT_CLOSED_REQUEST, canonicalRoute } from "./middleware/observe.ts";

/**
 * The one place where errors become HTTP responses (design.md, docs/spec/api.md §2.1). A TiktiError
 * answers its catalogue status and body; anything else is a 500 `INTERNAL` carrying no message,
 * with the error logged under the request id.
 */
export function errorHandler(deps: AppDeps): ErrorHandler<HonoEnv> {
  return (err, c) => {
    const log = c.get("log") ?? deps.logger;
    if (!isTiktiError(err) && c.env?.connection?.closed()) {
      // The peer left (or node:http cut the request at its deadline) while the request was read:
      // nothing failed on this side and nobody will read an answer. The access log records the
      // outcome (observe.ts: 499 or 408); no error log, no 5xx series.
      log.debug("connection closed before the answer", { route: canonicalRoute(c), error: err });
      return new Response(null, { status: CLIENT_CLOSED_REQUEST });
    }
    const e = isTiktiError(err) ? err : new TiktiError("INTERNAL", { cause: err });
    if (e.code === "STORE_UNAVAILABLE") {
      deps.metrics.storeErrors.inc({ operation: canonicalRoute(c) });
      log.warn("store unavailable", { route: canonicalRoute(c), cause: e.cause });
    } else if (e.status >= 500) {
      log.error("request failed", { route: canonicalRoute(c), code: e.code, error: e.cause ?? e });
    }
    return jsonError(c, e);
  };
}

/** The JSON answer of `e`; its `retryAfterSeconds` becomes `Retry-After` here, the one place that knows HTTP. */
export function jsonError(c: Context, e: TiktiError): Response {
  return json(
    c,
    e.toBody(),
    e.status,
    e.retryAfterSeconds !== undefined ? { "Retry-After": String(e.retryAfterSeconds) } : undefined,
  );
}

export const notFound: NotFoundHandler<HonoEnv> = (c) => jsonError(c, new TiktiError("NOT_FOUND"));

export function methodNotAllowedResponse(c: Context, allowed: string[]): Response {
  const res = jsonError(c, new TiktiError("METHOD_NOT_ALLOWED"));
  res.headers.set("Allow", allowed.join(", "));
  return res;
}
