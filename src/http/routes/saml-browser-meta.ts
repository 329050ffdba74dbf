/**
 * Public SAML browser routes for metadata and discovery (docs/spec/saml.md §4, §10; docs/spec/api.md §12):
 * `GET /saml/metadata`, `GET /saml/metadata/:tid`, `GET|POST /saml/discover`.
 *
 * A separate Hono sub-app, mounted at the root only when `saml.enabled` (otherwise these paths are
 * the JSON `404 NOT_FOUND` of unknown routes): no `/v1` alias, no CORS, and HTML or XML answers —
 * never JSON errors. Login, ACS and SLO live in their own route files.
 */

import { type Context, Hono } from "hono";
import { readRequestBodyLimited, StreamTooLarge } from "../../bytes.ts";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { isPathTenantId } from "../../domain/grammar.ts";
import { isTiktiError, type TiktiError } from "../../errors.ts";
import { only } from "../../must.ts";
import { emailDomain } from "../../saml/discovery.ts";
import { buildSpMetadata, SP_METADATA_CONTENT_TYPE } from "../../saml/metadata.ts";
import type { Services } from "../../services/index.ts";
import { BROWSER_HEADERS, DISCOVERY_CSP, discoveryPage, newErrorId, samlErrorPage } from "../saml/pages.ts";

/** SAML browser POST bodies (docs/spec/api.md §2.4). */
export const SAML_BROWSER_BODY_LIMIT = 256 * 1024;

function isFormMediaType(value: string | undefined): boolean {
  return value?.split(";", 1)[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** The public metadata and discovery routes; an empty sub-app when SAML is disabled. */
export function samlBrowserMetaRoutes(deps: AppDeps, services: Services): Hono<HonoEnv> {
  const app = new Hono<HonoEnv>();
  if (!deps.config.saml.enabled) return app;
  const { saml } = services;
  const { config } = deps;

  const plain = (status: number, text: string, headers: Record<string, string> = {}) =>
    new Response(`${text}\n`, {
      status,
      headers: { ...headers, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
    });

  async function metadata(c: Context<HonoEnv>, tid?: string): Promise<Response> {
    const log = c.get("log") ?? deps.logger;
    try {
      let unsolicitedTenantId: string | undefined;
      if (tid !== undefined && isPathTenantId(tid)) {
        const read = await saml.idps.read(tid);
        if (read.kind === "ok" && read.record.allowUnsolicited) unsolicitedTenantId = tid;
      }
      const xml = buildSpMetadata({
        urls: saml.urls,
        published: await saml.rotation.published(),
        wantAssertionsSigned: config.saml.sp.requireAssertionSigned,
        ...(unsolicitedTenantId !== undefined ? { unsolicitedTenantId } : {}),
      });
      return new Response(xml, {
        status: 200,
        headers: { "Content-Type": SP_METADATA_CONTENT_TYPE, "Cache-Control": "public, max-age=86400" },
      });
    } catch (error) {
      if (isTiktiError(error) && error.code === "STORE_UNAVAILABLE") {
        log.warn("SP metadata: store unavailable", { error: error.cause });
        return plain(503, "service unavailable", { "Retry-After": "5" });
      }
      log.error("SP metadata unavailable", { error: isTiktiError(error) ? (error.cause ?? error) : error });
      return plain(500, "SP metadata unavailable");
    }
  }

  app.get("/saml/metadata", (c) => metadata(c));
  app.get("/saml/metadata/:tid", (c) => metadata(c, c.req.param("tid")));

  /** An error page, logged with its id and reason (never the email). */
  const errorPage = (
    c: Context<HonoEnv>,
    kind: Parameters<typeof samlErrorPage>[0],
    reason: string,
    options: Parameters<typeof samlErrorPage>[1] = {},
  ) => {
    const errorId = newErrorId();
    (c.get("log") ?? deps.logger).info("SAML discovery refused", { errorId, reason });
    return samlErrorPage(kind, { ...options, errorId });
  };

  const fromError = (c: Context<HonoEnv>, error: unknown) => {
    if (isTiktiError(error) && error.code === "RATE_LIMITED") {
      return errorPage(c, "too_many", "rate_limited", {
        retryAfter: (error as TiktiError).retryAfterSeconds ?? 60,
      });
    }
    const storeUnavailable = isTiktiError(error) && error.code === "STORE_UNAVAILABLE";
    (c.get("log") ?? deps.logger).error("SAML discovery failed", { error });
    return errorPage(c, "internal", storeUnavailable ? "store_unavailable" : "internal_error", {
      storeUnavailable,
    });
  };

  app.get("/saml/discover", (c) => {
    if (!config.saml.discover.enabled) return errorPage(c, "not_configured", "discovery_disabled");
    // Any query string is refused and never reflected.
    if (c.req.url.includes("?")) return errorPage(c, "bad_request", "query_not_allowed");
    return discoveryPage();
  });

  app.post("/saml/discover", async (c) => {
    if (!config.saml.discover.enabled) return errorPage(c, "not_configured", "discovery_disabled");
    try {
      await services.rateLimiter.check("samlIp", c.get("clientIp") ?? "unknown");
      let bytes: Uint8Array;
      try {
        bytes = await readRequestBodyLimited(c.req.raw, SAML_BROWSER_BODY_LIMIT);
      } catch (e) {
        if (e instanceof StreamTooLarge) return errorPage(c, "too_large", "body_too_large");
        throw e;
      }
      let domain: string | null = null;
      if (isFormMediaType(c.req.header("content-type"))) {
        const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
        const emails = new URLSearchParams(text).getAll("email");
        const email = only(emails);
        if (email !== undefined) domain = emailDomain(email);
      }
      if (domain === null) return discoveryPage("Enter a valid email address.");

      // Exact domain only, no parent-domain walk (§10).
      const tid = await saml.domains.lookup(domain);
      if (tid !== null && isPathTenantId(tid)) {
        const tenant = await services.repos.tenants.get(tid);
        if (tenant?.status === "ACTIVE" && (await saml.idps.read(tid)).kind === "ok") {
          return new Response(null, {
            status: 302,
            headers: {
              ...BROWSER_HEADERS,
              "Content-Security-Policy": DISCOVERY_CSP,
              Location: saml.urls.loginPath(tid),
            },
          });
        }
      }
      return discoveryPage("Workspace not found.");
    } catch (error) {
      return fromError(c, error);
    }
  });

  return app;
}
