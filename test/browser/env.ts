/**
 * The environment of the real-browser tests: a real, listening Tikti (a child process, embedded
 * store) addressed as `http://localhost:<port>`, two pysaml2 IdPs on `http://127.0.0.1:<port>` — one
 * advertising single logout over HTTP-Redirect (tenant `acme`, IdP-initiated SSO allowed, email
 * domain `acme.example` for discovery), one over HTTP-POST (tenant `globex`) — an `https` landing
 * server listed in `saml.acs.allowedRedirectOrigins`, and Debian's Chromium driven by
 * playwright-core (never a downloaded browser).
 *
 * Why these hosts: `localhost` and `127.0.0.1` are different sites, so every IdP → Tikti hop is a
 * cross-site navigation and Chromium applies its real SameSite rules. Both are potentially
 * trustworthy origins, where Chromium accepts `Secure` cookies and the `__Host-` prefix over plain
 * http (measured: `__Host-a=1; Path=/; Secure; HttpOnly; SameSite=None` is stored and sent back on
 * `http://localhost` and `http://127.0.0.1`, a `SameSite=None` cookie without `Secure` is dropped).
 * So the test runs Tikti's real cookie attributes; nothing is relaxed for it.
 */
import { createServer as createHttpsServer, type Server } from "node:https";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { type PysamlIdp, startPysamlIdp, TEST_PASSWORD, type TestUser } from "../saml/e2e/pysaml-idp.ts";
import { makeCert, rsaKey, type SpFiles, spFiles } from "../saml/metadata/helpers.ts";
import { childPidsOf, registerGroup } from "../support/children.ts";
import { freePort } from "../support/ports.ts";
import { startTikti, type TiktiProcess } from "../support/tikti-process.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export const POST_LOGIN = "/app/home";
export const POST_LOGOUT = "/signed-out";
export const ACME_USER: Required<TestUser> = {
  nameId: "jane.doe@acme.example",
  mail: "jane.doe@acme.example",
  displayName: "Jane Doe",
  groups: ["staff"],
};
export const GLOBEX_USER: Required<TestUser> = {
  nameId: "max.post@globex.example",
  mail: "max.post@globex.example",
  displayName: "Max Post",
  groups: ["staff"],
};

export interface BrowserEnv {
  /** `http://localhost:<port>`: what the browser uses. */
  base: string;
  server: TiktiProcess;
  /** Tenant `acme`: SLO over HTTP-Redirect, `allowUnsolicited`. */
  idpRedirect: PysamlIdp;
  /** Tenant `globex`: SLO over HTTP-POST. */
  idpPost: PysamlIdp;
  /** `https://127.0.0.1:<port>`, an allowed external return target. */
  landing: string;
  browser: Browser;
  /** An admin/API-key call to the server. */
  api(path: string, init?: { method?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export async function startBrowserEnv(runtime: "node" | "bun" | "deno" = "node"): Promise<BrowserEnv> {
  const files: SpFiles = await spFiles();
  await files.install("current", await makeCert({ key: await rsaKey("browser-sp"), cn: "tikti-sp" }));
  const landingServer = await startLanding();
  const landing = `https://127.0.0.1:${(landingServer.address() as { port: number }).port}`;

  const port = await freePort();
  const base = `http://localhost:${port}`;
  const server = await startTikti({
    runtime,
    port,
    timeoutMs: 60_000,
    config: {
      issuerBaseUrl: base,
      rateLimits: { enabled: false },
      saml: {
        enabled: true,
        sp: {
          signingKeyPath: files.current.key,
          signingCertPath: files.current.cert,
          nextSigningKeyPath: files.next.key,
          nextSigningCertPath: files.next.cert,
        },
        acs: { postLoginURL: POST_LOGIN, postLogoutURL: POST_LOGOUT, allowedRedirectOrigins: [landing] },
      },
    },
  });
  const api = (path: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${server.baseUrl}${path}`, {
      method: init.method ?? (init.json === undefined ? "GET" : "POST"),
      headers: { "X-API-Key": server.apiKey, "content-type": "application/json" },
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    });
  const ok = async (res: Promise<Response>, what: string) => {
    const r = await res;
    if (!r.ok) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    return r;
  };

  const spMetadataXml = await (await ok(fetch(`${server.baseUrl}/saml/metadata`), "SP metadata")).text();
  const knobs = { loginForm: true };
  const [idpRedirect, idpPost] = await Promise.all([
    startPysamlIdp({ spMetadataXml, user: ACME_USER, sloBinding: "redirect", knobs }),
    startPysamlIdp({ spMetadataXml, user: GLOBEX_USER, sloBinding: "post", knobs }),
  ]);
  for (const [tid, idp, extra] of [
    ["acme", idpRedirect, { allowUnsolicited: true }],
    ["globex", idpPost, {}],
  ] as const) {
    await ok(api("/tenants", { json: { id: tid, name: `Tenant ${tid}`, slug: tid } }), `tenant ${tid}`);
    await ok(
      api(`/tenants/${tid}/saml/idp`, { method: "PUT", json: { metadataUrl: idp.metadataUrl, ...extra } }),
      `IdP of ${tid}`,
    );
  }
  await ok(api("/tenants/acme/saml/domains/acme.example", { method: "PUT" }), "domain");

  // Playwright starts Chromium in its own process group; record it so that a fork killed mid-test
  // does not leave the browser behind (test/support/children.ts).
  const before = new Set(childPidsOf(process.pid));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  for (const pid of childPidsOf(process.pid)) if (!before.has(pid)) registerGroup(pid);
  return {
    base,
    server,
    idpRedirect,
    idpPost,
    landing,
    browser,
    api,
    async close() {
      await browser.close().catch(() => {});
      await Promise.all([idpRedirect.stop(), idpPost.stop()]);
      await server.stop("SIGKILL");
      await new Promise((r) => landingServer.close(r));
      await files.cleanup();
    },
  };
}

/** The `https` landing page: answers every path with a page naming it. */
async function startLanding(): Promise<Server> {
  const cert = await makeCert({ key: await rsaKey("browser-landing"), cn: "127.0.0.1" });
  const srv = createHttpsServer({ key: cert.key.pem, cert: cert.pem }, (req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!DOCTYPE html><title>landing</title><p id="landing">${req.method} ${req.url}</p>`);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return srv;
}

/** A fresh browser profile (cookies, cache) and a page that records CSP violations. */
export async function openPage(env: BrowserEnv): Promise<{
  context: BrowserContext;
  page: Page;
  cspViolations: string[];
}> {
  // The landing server's certificate is self-signed; only that origin is https here.
  const context = await env.browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return { context, page, cspViolations };
}

/** The IdP's login form (knob `loginForm`): the user signs in as a person would. */
export async function signInAtIdp(page: Page, idp: PysamlIdp, user: TestUser): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${idp.base}/sso`));
  await page.fill('input[name="username"]', user.nameId);
  await page.fill('input[name="password"]', TEST_PASSWORD);
  await page.click('input[type="submit"]');
}

/** The claims of a compact JWS. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

/**
 * The `tikti_idt` cookie the browser holds for Tikti: present with the configured attributes, a
 * SAML idToken for `tid` that the server accepts (`POST /accounts/lookup`) for the expected user.
 */
export async function expectSamlIdToken(
  env: BrowserEnv,
  context: BrowserContext,
  tid: string,
  email: string,
): Promise<{ token: string; claims: Record<string, unknown> }> {
  const cookie = (await context.cookies(env.base)).find((c) => c.name === "tikti_idt");
  expect(cookie, "tikti_idt cookie").toBeDefined();
  expect(cookie).toMatchObject({ path: "/", httpOnly: true, secure: true, sameSite: "Lax" });
  const token = cookie?.value ?? "";
  const claims = claimsOf(token);
  expect(claims).toMatchObject({ amr: ["saml"], tid, email });
  expect(claims.sid).toMatch(/^[0-9a-f]{32}$/);
  const lookup = await env.api("/accounts/lookup", { json: { idToken: token } });
  expect(lookup.status, await lookup.clone().text()).toBe(200);
  expect(JSON.stringify(await lookup.json())).toContain(String(claims.sub));
  return { token, claims };
}

/** Cookie names the browser holds for Tikti's origin. */
export async function cookieNames(env: BrowserEnv, context: BrowserContext): Promise<string[]> {
  return (await context.cookies(env.base)).map((c) => c.name).sort();
}
