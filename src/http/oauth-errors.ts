/**
 * The one mapper from errors to the OAuth error response (docs/spec/oauth.md §9, RFC 6749 §5.2), used
 * by every `/oauth/*` route: `{"error","error_description"}`, never the Tikti `{"error","code"}`
 * body; `Cache-Control: no-store`; `WWW-Authenticate: Basic realm="tikti"` on a 401 when the
 * client used HTTP Basic; `Retry-After` on 429/503.
 */
import type { Context } from "hono";
import type { AppDeps, HonoEnv } from "../deps.ts";
import { isTiktiError } from "../errors.ts";
import { isOAuthError, OAuthError } from "../services/oauth/errors.ts";
import { JSON_CONTENT_TYPE, sizedBody } from "./json-response.ts";
import { canonicalRoute } from "./middleware/observe.ts";

/** Headers of every OAuth JSON answer (RFC 6749 §5.1). */
export const OAUTH_NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** Translates anything thrown on an OAuth route into an `OAuthError`. */
export function toOAuthError(err: unknown): OAuthError {
  if (isOAuthError(err)) return err;
  if (isTiktiError(err)) {
    const { retryAfterSeconds } = err;
    switch (err.code) {
      case "RATE_LIMITED":
        return new OAuthError("temporarily_unavailable", "rate limited", {
          ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
          cause: err,
        });
      case "STORE_UNAVAILABLE":
        return new OAuthError("temporarily_unavailable", "service unavailable", {
          status: 503,
          retryAfterSeconds: retryAfterSeconds ?? 5,
          cause: err,
        });
      case "PAYLOAD_TOO_LARGE":
        return new OAuthError("invalid_request", "request body too large", { status: 413, cause: err });
      case "INVALID_REQUEST":
      case "UNSUPPORTED_MEDIA_TYPE":
        return new OAuthError("invalid_request", "invalid request", { cause: err });
      default:
        break;
    }
  }
  return new OAuthError("server_error", "internal error", { cause: err });
}

/** The RFC 6749 §5.2 response for `err`; 5xx causes are logged with the request id. */
export function oauthErrorResponse(
  c: Context<HonoEnv>,
  deps: Pick<AppDeps, "logger" | "metrics">,
  err: unknown,
) {
  const e = toOAuthError(err);
  const log = c.get("log") ?? deps.logger;
  if (e.status === 503) {
    deps.metrics.storeErrors.inc({ operation: canonicalRoute(c) });
    log.warn("store unavailable", { route: canonicalRoute(c), cause: e.cause });
  } else if (e.status >= 500) {
    log.error("request failed", { route: canonicalRoute(c), code: e.error, error: e.cause ?? e });
  }
  const headers: Record<string, string> = { ...OAUTH_NO_STORE, "Content-Type": JSON_CONTENT_TYPE };
  if (e.status === 401 && e.basic) headers["WWW-Authenticate"] = 'Basic realm="tikti"';
  if (e.retryAfterSeconds !== undefined) headers["Retry-After"] = String(e.retryAfterSeconds);
  return sizedBody(c, JSON.stringify(e.toBody()), e.status, headers);
}

/** A route handler whose every failure answers in the OAuth shape. */
export function withOAuthErrors(
  deps: Pick<AppDeps, "logger" | "metrics">,
  handler: (c: Context<HonoEnv>) => Promise<Response>,
): (c: Context<HonoEnv>) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (err) {
      return oauthErrorResponse(c, deps, err);
    }
  };
}

/** The JSON success answer of an OAuth route (no-store). */
export function oauthJson(c: Context<HonoEnv>, body: unknown, status = 200): Response {
  return sizedBody(c, JSON.stringify(body), status, { ...OAUTH_NO_STORE, "Content-Type": JSON_CONTENT_TYPE });
}
