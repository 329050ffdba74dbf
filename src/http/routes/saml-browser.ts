/**
 * Public SAML browser routes for login, the assertion consumer and single logout (docs/spec/saml.md §5,
 * §6, §9; docs/spec/api.md §12): `GET /saml/login/:tid`, `POST /saml/acs`, `POST /saml/acs/:tid`,
 * `GET /saml/logout/:tid`, `GET|POST /saml/slo`.
 *
 * Like the metadata/discovery sub-app, mounted at the root only when `saml.enabled`: no `/v1` alias,
 * no CORS, HTML pages or redirects — never JSON errors. This file does the HTTP part (the `samlIp`
 * rate limit before any parsing or signature work, bodies capped at 256 KiB while streaming); the
 * flows live in src/services/saml/{login,acs,logout}.ts and return decisions that src/http/saml/render.ts
 * renders.
 */

import { type Context, Hono } from "hono";
import { readRequestBodyLimited, StreamTooLarge } from "../../bytes.ts";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { isTiktiError } from "../../errors.ts";
import type { Services } from "../../services/index.ts";
import { type FlowDecision, type FlowRequest, isStoreUnavailable } from "../../services/saml/flow.ts";
import { ERROR_PAGE_CSP } from "../saml/pages.ts";
import { errorPage, renderDecision } from "../saml/render.ts";
import { cookieValues, expiredStateCookie, SLO_COOKIE, STATE_COOKIE } from "../saml/state-cookie.ts";

/** SAML browser POST bodies (docs/spec/api.md §2.4, docs/spec/saml.md §6.1, §7.2). */
export const SAML_POST_BODY_LIMIT = 256 * 1024;

/** The raw query string as received (no `?`), never re-encoded (§9.3 step 3). */
function rawQuery(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return "";
  const hash = url.indexOf("#", q);
  return url.slice(q + 1, hash === -1 ? undefined : hash);
}

export function samlBrowserRoutes(deps: AppDeps, services: Services): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();
  if (!deps.config.saml.enabled) return app;
  const flows = services.samlFlows;

  const request = (c: Context<HonoEnv>): FlowRequest => {
    const header = c.req.header("cookie") ?? null;
    return {
      log: c.get("log") ?? deps.logger,
      httpRequestId: c.get("requestId") ?? "",
      cookies: {
        state: cookieValues(header, STATE_COOKIE),
        slo: cookieValues(header, SLO_COOKIE),
        idToken: cookieValues(header, deps.config.saml.acs.cookieName),
      },
    };
  };
  const render = (decision: FlowDecision, req: FlowRequest): Response =>
    renderDecision(decision, { log: req.log, config: deps.config });

  /**
   * `samlIp` (docs/spec/api.md §2.8) before anything else: `429` page with `Retry-After`, no audit record.
   * Returns the refusal page, or null to go on.
   */
  async function limited(
    c: Context<HonoEnv>,
    flowName: string,
    cookies: string[] = [],
  ): Promise<Response | null> {
    try {
      await services.rateLimiter.check("samlIp", c.get("clientIp") ?? "unknown");
      return null;
    } catch (error) {
      if (isTiktiError(error) && error.code === "RATE_LIMITED") {
        return errorPage(
          request(c),
          "too_many",
          { flow: flowName, reason: "rate_limited" },
          { retryAfter: error.retryAfterSeconds ?? 60, cookies },
        );
      }
      const storeUnavailable = isStoreUnavailable(error);
      return errorPage(
        request(c),
        "internal",
        { flow: flowName, reason: "internal_error", detail: "rate_limit", error },
        { storeUnavailable, cookies },
      );
    }
  }

  const query = (c: Context<HonoEnv>) => new URLSearchParams(rawQuery(c.req.url));

  app.get("/saml/login/:tid", async (c) => {
    const refused = await limited(c, "login");
    if (refused) return refused;
    const req = { ...request(c), tenantId: c.req.param("tid"), query: query(c) };
    return render(await flows.login(req), req);
  });

  async function acs(c: Context<HonoEnv>, unsolicitedTenantId: string | null): Promise<Response> {
    // §6.2: every answer but the repost page expires the state cookie (solicited ACS only).
    const cookies = unsolicitedTenantId === null ? [expiredStateCookie()] : [];
    const refused = await limited(c, "acs", cookies);
    if (refused) return refused;
    let body: Uint8Array;
    try {
      body = await readRequestBodyLimited(c.req.raw, SAML_POST_BODY_LIMIT);
    } catch (error) {
      if (error instanceof StreamTooLarge) {
        return errorPage(request(c), "too_large", { flow: "acs", reason: "body_too_large" }, { cookies });
      }
      return errorPage(
        request(c),
        "bad_request",
        { flow: "acs", reason: "body_unreadable", error },
        { cookies },
      );
    }
    const req = {
      ...request(c),
      contentType: c.req.header("content-type") ?? null,
      body,
      unsolicitedTenantId,
    };
    return render(await flows.acs(req), req);
  }

  app.post("/saml/acs", (c) => acs(c, null));
  app.post("/saml/acs/:tid", (c) => acs(c, c.req.param("tid")));

  app.get("/saml/logout/:tid", async (c) => {
    const req = { ...request(c), tenantId: c.req.param("tid"), query: query(c) };
    return render(await flows.spLogout(req), req);
  });

  /** §9.4: every SLO answer carries the headers of §6.7 (the auto-submit form has its own CSP). */
  const sloHeaders = (res: Response): Response => {
    if (!res.headers.has("content-security-policy"))
      res.headers.set("Content-Security-Policy", ERROR_PAGE_CSP);
    return res;
  };

  app.get("/saml/slo", async (c) => {
    const req = { ...request(c), input: { binding: "redirect" as const, rawQuery: rawQuery(c.req.url) } };
    return sloHeaders(render(await flows.slo(req), req));
  });

  app.post("/saml/slo", async (c) => {
    let body: Uint8Array;
    try {
      body = await readRequestBodyLimited(c.req.raw, SAML_POST_BODY_LIMIT);
    } catch (error) {
      if (error instanceof StreamTooLarge)
        return errorPage(request(c), "too_large", { flow: "slo", reason: "body_too_large" });
      return errorPage(request(c), "bad_request", { flow: "slo", reason: "body_unreadable", error });
    }
    // The form rules are the flow's (src/services/saml/forms.ts, beside the ACS's).
    const contentType = c.req.header("content-type") ?? null;
    const req = { ...request(c), input: { binding: "post" as const, contentType, body } };
    return sloHeaders(render(await flows.slo(req), req));
  });

  return app;
}
