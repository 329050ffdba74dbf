import type { Context, Hono, MiddlewareHandler } from "hono";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { AnswerHeaders, AppDeps, HonoEnv, ResponseHeaders } from "../../deps.ts";
import { uuidv7 } from "../../ids.ts";
import { parseCidr, resolveClientIp } from "../../net/ip.ts";
import { methodNotAllowedResponse } from "../error-handler.ts";
import { fixContentLength, logAccess } from "./observe.ts";

const VALID_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS = "Content-Type, Authorization, X-API-Key, X-Request-ID";
const EXPOSE_HEADERS = "X-Request-ID, Retry-After";

/** Prefixes of routes that carry `Cache-Control: no-store` (docs/spec/api.md §2.5, §2.11.9), with their `/v1` alias. */
const NO_STORE_PREFIXES = ["/accounts", "/tenants", "/admin"].flatMap((p) => [p, `/v1${p}`]);

/** `/accounts`, `/accounts/…` and the same under `/v1` (the paths the old `/accounts` + `/accounts/*` middleware matched). */
export function isNoStorePath(path: string): boolean {
  for (const p of NO_STORE_PREFIXES) {
    if (path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47)) return true;
  }
  return false;
}

/** CORS applies to JSON routes only; /saml/*, /healthz, /readyz and /metrics never send it (docs/spec/api.md §2.6). */
function isCorsPath(path: string): boolean {
  return !(path.startsWith("/saml/") || path === "/healthz" || path === "/readyz" || path === "/metrics");
}

/**
 * The one middleware in front of every route (issue 14 item 2): request id (docs/spec/api.md §2.7),
 * client IP (§2.8), CORS (§2.6), 405 with `Allow`, `no-store` (§2.5), then the access log line and
 * the HTTP series (docs/spec/operations.md §6, §7). It replaces five stacked middleware layers, each
 * of which cost a Hono dispatch, a promise and a mutation of the finished response's headers.
 *
 * The headers every answer carries are decided here, before the route runs, and handed to the body
 * helpers (src/http/json-response.ts), which write them into the Response they build: the Node
 * adapter then sends that Response's plain header object as is. A Response built any other way
 * (HTML pages, SAML, /metrics, Hono's own) gets the same headers set afterwards, as before.
 */
export function front(deps: AppDeps, app: Hono<HonoEnv>): MiddlewareHandler<HonoEnv> {
  // Validated at start-up (src/config/validate.ts); an entry that did not parse would trust nobody.
  const trusted = deps.config.http.trustedProxies.map(parseCidr).filter((c) => c !== null);
  const allowed = new Set(deps.config.http.allowedOrigins.map((o) => o.toLowerCase()));
  // Hono's 405 logic (the Allow list from the app's routes), run only on a 404.
  const notAllowed = methodNotAllowed({ app, onMethodNotAllowed: methodNotAllowedResponse });
  const nothing = async () => {};
  return async (c, next) => {
    const started = performance.now();
    const req = c.req;
    const path = req.path;
    const method = req.method;
    const incoming = req.header("x-request-id");
    const id =
      incoming !== undefined && VALID_REQUEST_ID.test(incoming) ? incoming : uuidv7(deps.clock.now());
    c.set("requestId", id);
    c.set("log", deps.logger.child({ requestId: id }));
    const socket = c.env?.remoteAddr ?? "";
    c.set(
      "clientIp",
      trusted.length === 0 ? socket : resolveClientIp(socket, req.header("x-forwarded-for"), trusted),
    );

    let origin: string | undefined;
    let preflight = false;
    let corsOk = false;
    if (isCorsPath(path)) {
      origin = req.header("origin");
      preflight = method === "OPTIONS" && origin !== undefined;
      corsOk = origin !== undefined && allowed.has(origin.toLowerCase());
    }
    const headers: ResponseHeaders = {};
    if (isNoStorePath(path)) {
      headers["Cache-Control"] = "no-store";
      headers.Pragma = "no-cache";
    }
    if (corsOk) {
      headers["Access-Control-Allow-Origin"] = origin as string;
      headers.Vary = "Origin";
      headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS;
    }
    headers["X-Request-ID"] = id;
    headers["X-Content-Type-Options"] = "nosniff";
    const answer: AnswerHeaders = { headers, res: undefined, bytes: 0 };
    c.set("answer", answer);

    if (preflight && !corsOk) {
      // A preflight from an origin not on the list: refused before any route runs, no CORS header.
      c.res = new Response(null, {
        status: 403,
        headers: { "X-Request-ID": id, "X-Content-Type-Options": "nosniff" },
      });
      answer.res = c.res;
      answer.bytes = 0;
    } else {
      await next();
      if (c.res.status === 404 && !c.error) await notAllowed(c, nothing);
      if (corsOk && preflight && c.res.status === 405) {
        // An allowed preflight on a known path (no route answers OPTIONS): 204 with the allow lists,
        // and with no Content-Length (RFC 9110 §8.6; the 405's used to be copied onto it).
        const allow = c.res.headers.get("allow");
        c.res = undefined;
        c.res = new Response(null, {
          status: 204,
          headers: {
            ...(allow === null ? {} : { Allow: allow }),
            ...headers,
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
          },
        });
        answer.res = c.res;
        answer.bytes = 0;
      }
    }

    let bytesOut: number;
    if (answer.res !== undefined && c.res === answer.res) {
      bytesOut = answer.bytes;
    } else {
      // Built elsewhere (HTML, SAML, /metrics, Hono's own answers): the headers go on afterwards.
      // A body helper's answer copied into another Response (Hono's 405) may hold them already.
      const h = c.res.headers;
      for (const name in headers) {
        const value = headers[name] as string;
        if (name !== "Vary") h.set(name, value);
        else if (!(h.get("vary") ?? "").split(",").some((v) => v.trim().toLowerCase() === "origin")) {
          h.append(name, value);
        }
      }
      bytesOut = await fixContentLength(c);
    }
    await logAccess(deps, c as Context<HonoEnv>, started, bytesOut);
  };
}
