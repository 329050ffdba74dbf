/**
 * Every SAML browser flow in a real browser (issue 11 item 12a, issue 13 item 1; docs/saml.md §12):
 * Debian's Chromium, driven by playwright-core, against a listening Tikti and real pysaml2 IdPs (see
 * env.ts). An HTTP client ignores CSP, SameSite and the `__Host-` rules; a browser does not, so each
 * assertion here is one a broken page, cookie or CSP makes fail: the URL the browser ends on, the
 * cookies it holds (and their attributes) and sends, the idToken the server accepts, the sessions
 * that end, and no CSP violation reported by the browser on the way.
 *
 * Flows: discovery; SP-initiated login through the IdP's login page, the auto-POST and the ACS to the
 * final redirect; the repost page (state cookie withheld on the cross-site POST) to an allowed
 * external target; IdP-initiated SSO (allowed and refused); SP- and IdP-initiated logout over
 * HTTP-Redirect and HTTP-POST. This suite guards the SAML layering move (issue 13).
 */
import type { Cookie, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACME_USER,
  type BrowserEnv,
  cookieNames,
  expectSamlIdToken,
  GLOBEX_USER,
  openPage,
  POST_LOGIN,
  POST_LOGOUT,
  signInAtIdp,
  startBrowserEnv,
} from "./env.ts";

const STATE = "__Host-tikti_saml_state";
const SLO_STATE = "__Host-tikti_saml_slo";
/** A whole flow: several navigations, two xmlsec1 signing runs at the IdP, on a shared machine. */
const FLOW_MS = 20_000;

/**
 * The `Cookie` headers the browser sends to URLs starting with `prefix` (redirects included): what
 * SameSite and `__Host-` really let through on each hop.
 */
function sentCookies(page: Page, prefix: string): string[] {
  const seen: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(prefix)) return;
    void request.allHeaders().then((h) => seen.push(h.cookie ?? ""));
  });
  return seen;
}

// The server on every runtime: each adapter writes the headers (several Set-Cookie, CSP) itself.
// Each flow is several navigations and IdP signing runs on a shared two-core machine.
describe.each(["node", "bun", "deno"] as const)(
  "SAML browser flows in Chromium (%s)",
  { timeout: 60_000 },
  (runtime) => {
    let env: BrowserEnv;
    beforeAll(async () => {
      env = await startBrowserEnv(runtime);
    }, 120_000);
    afterAll(async () => {
      await env?.close();
    });

    /** SP-initiated login of `tid` as far as the final redirect; returns the open page. */
    async function login(
      tid: "acme" | "globex",
      relayState?: string,
      before?: (page: Page) => Promise<void>,
    ) {
      const opened = await openPage(env);
      const { page, context } = opened;
      await before?.(page);
      const idp = tid === "acme" ? env.idpRedirect : env.idpPost;
      const user = tid === "acme" ? ACME_USER : GLOBEX_USER;
      const query = relayState === undefined ? "" : `?RelayState=${encodeURIComponent(relayState)}`;
      const toAcs = sentCookies(page, `${env.base}/saml/acs`);
      await page.goto(`${env.base}/saml/login/${tid}${query}`);
      // On the IdP's login page the browser holds the state cookie, with its real attributes.
      await page.waitForURL((url) => url.href.startsWith(`${idp.base}/sso`));
      const state = (await context.cookies(env.base)).find((c) => c.name === STATE);
      expect(state).toMatchObject({ path: "/", secure: true, httpOnly: true, sameSite: "None" });
      expect(state?.value).toMatch(/^_[0-9a-f]{40}$/);
      await signInAtIdp(page, idp, user);
      return { ...opened, user, toAcs };
    }

    it("discovery → /saml/login/<tid> → the IdP's login page → ACS → postLoginURL with the idToken cookie", async () => {
      const { page, context, cspViolations } = await openPage(env);
      await page.goto(`${env.base}/saml/discover`);
      expect(await page.textContent("h1")).toBe("Discover your workspace");
      await page.fill('input[name="email"]', "someone@acme.example");
      await page.click('button[type="submit"]');
      // form-action on the discovery page used to stop the browser here, on the filled form.
      await signInAtIdp(page, env.idpRedirect, ACME_USER);
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      await expectSamlIdToken(env, context, "acme", ACME_USER.mail);
      // The ACS expired the state cookie.
      expect(await cookieNames(env, context)).toEqual(["tikti_idt"]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("discovery of an unknown domain stays on the form with 'Workspace not found.'", async () => {
      const { page, context, cspViolations } = await openPage(env);
      await page.goto(`${env.base}/saml/discover`);
      await page.fill('input[name="email"]', "someone@unknown.example");
      await page.click('button[type="submit"]');
      await page.waitForSelector("text=Workspace not found.");
      expect(page.url()).toBe(`${env.base}/saml/discover`);
      expect(await page.content()).not.toContain("someone@unknown.example");
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("SP-initiated login lands on the RelayState target with a valid SAML idToken", async () => {
      const { page, context, cspViolations, toAcs } = await login("acme", "/app/settings?tab=profile");
      await page.waitForURL(`${env.base}/app/settings?tab=profile`, { timeout: FLOW_MS });
      // The IdP's cross-site auto-POST to the ACS carried the state cookie (SameSite=None, Secure).
      expect(toAcs).toEqual([expect.stringMatching(new RegExp(`(^|; )${STATE}=_[0-9a-f]{40}(;|$)`))]);
      const { claims } = await expectSamlIdToken(env, context, "acme", ACME_USER.mail);
      expect(claims.exp).toBeGreaterThan(Date.now() / 1000);
      expect(await cookieNames(env, context)).toEqual(["tikti_idt"]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("repost page: a browser that withholds the state cookie on the IdP's POST recovers and lands on an allowed external target", async () => {
      const target = `${env.landing}/after?x=1`;
      const acsStatuses: number[] = [];
      let withheld: Cookie | undefined;
      const { page, context, cspViolations } = await login("acme", target, async (p) => {
        // Some browsers withhold SameSite=None cookies on cross-site POSTs; Chromium does not. Here the
        // browser forgets the state cookie just before the IdP's cross-site POST reaches the ACS and
        // gets it back before the repost page's same-site POST: what such a browser sends.
        const ctx = p.context();
        await p.route(`${env.base}/saml/acs`, async (route) => {
          const retry = (route.request().postData() ?? "").includes("_tikti_state_retry=1");
          if (!retry && !withheld) {
            withheld = (await ctx.cookies(env.base)).find((c) => c.name === STATE);
            await ctx.clearCookies({ name: STATE });
          } else if (retry && withheld) {
            await ctx.addCookies([withheld]);
          }
          await route.continue();
        });
        p.on("response", (r) => {
          if (r.url() === `${env.base}/saml/acs`) acsStatuses.push(r.status());
        });
      });
      // form-action 'self' on the repost page used to block the ACS's redirect to this origin.
      await page.waitForURL(target, { timeout: FLOW_MS });
      expect(await page.textContent("#landing")).toBe("GET /after?x=1");
      // The repost page (200) and then the decision (302) — the message was consumed once.
      expect(withheld?.value).toMatch(/^_[0-9a-f]{40}$/);
      expect(acsStatuses).toEqual([200, 302]);
      await expectSamlIdToken(env, context, "acme", ACME_USER.mail);
      expect(await cookieNames(env, context)).toEqual(["tikti_idt"]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("SP-initiated logout over HTTP-Redirect: Tikti → IdP → /saml/slo → the logout target", async () => {
      const { page, context, cspViolations, user } = await login("acme");
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      const { token } = await expectSamlIdToken(env, context, "acme", ACME_USER.mail);
      const toSlo = sentCookies(page, `${env.base}/saml/slo`);
      const mine = (await env.idpRedirect.sessions()).filter((s) => s.nameId === user.nameId).at(-1);
      expect(mine?.sessionIndex).toBeTruthy();

      await page.goto(`${env.base}/saml/logout/acme?RelayState=${encodeURIComponent("/bye?x=1")}`);
      await page.waitForURL(`${env.base}/bye?x=1`, { timeout: FLOW_MS });
      // The idToken and SLO cookies are gone, the session ended at Tikti and at the IdP.
      expect(await cookieNames(env, context)).toEqual([]);
      expect((await env.api("/accounts/lookup", { json: { idToken: token } })).status).toBe(401);
      expect((await env.idpRedirect.sessions()).map((s) => s.id)).not.toContain(mine?.id);
      expect((await env.idpRedirect.last()).logoutRequestFromSp).toContain("LogoutRequest");
      // The IdP's cross-site redirect to /saml/slo carried the SLO cookie (SameSite=None, Secure).
      expect(toSlo).toEqual([expect.stringMatching(new RegExp(`(^|; )${SLO_STATE}=_[0-9a-f]{40}(;|$)`))]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("SP-initiated logout over HTTP-POST: the auto-submit page reaches the IdP and its redirect back to /saml/slo", async () => {
      const { page, context, cspViolations, user } = await login("globex");
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      const { token } = await expectSamlIdToken(env, context, "globex", GLOBEX_USER.mail);
      const mine = (await env.idpPost.sessions()).filter((s) => s.nameId === user.nameId).at(-1);
      expect(mine?.sessionIndex).toBeTruthy();
      const toSlo = sentCookies(page, `${env.base}/saml/slo`);

      await page.goto(`${env.base}/saml/logout/globex`);
      // form-action <IdP origin> on the auto-submit page used to block the IdP's 302 back to
      // /saml/slo: the browser stayed on a blank page.
      await page.waitForURL(`${env.base}${POST_LOGOUT}`, { timeout: FLOW_MS });
      expect(await cookieNames(env, context)).toEqual([]);
      // The IdP's cross-site redirect to /saml/slo carried the SLO cookie (SameSite=None, Secure).
      expect(toSlo).toEqual([expect.stringMatching(new RegExp(`(^|; )${SLO_STATE}=_[0-9a-f]{40}(;|$)`))]);
      expect((await env.api("/accounts/lookup", { json: { idToken: token } })).status).toBe(401);
      expect((await env.idpPost.sessions()).map((s) => s.id)).not.toContain(mine?.id);
      expect((await env.idpPost.last()).logoutRequestFromSp).toContain("LogoutRequest");
      expect(cspViolations).toEqual([]);
      await context.close();
    });
    it("IdP-initiated SSO (allowUnsolicited): the IdP's auto-POST to /saml/acs/<tid> lands on postLoginURL signed in", async () => {
      const { page, context, cspViolations } = await openPage(env);
      const toAcs = sentCookies(page, `${env.base}/saml/acs/acme`);
      await page.goto(`${env.idpRedirect.base}/browser/unsolicited?tid=acme`);
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      await expectSamlIdToken(env, context, "acme", ACME_USER.mail);
      // No state cookie is involved on the unsolicited route, and none is left behind.
      expect(toAcs).toEqual([""]);
      expect(await cookieNames(env, context)).toEqual(["tikti_idt"]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("IdP-initiated SSO without allowUnsolicited ends on the neutral 400 page, signed out", async () => {
      const { page, context, cspViolations } = await openPage(env);
      await page.goto(`${env.idpPost.base}/browser/unsolicited?tid=globex`);
      await page.waitForURL(`${env.base}/saml/acs/globex`, { timeout: FLOW_MS });
      expect(await page.textContent("h1")).toBe("Bad Request");
      expect(await page.textContent("body")).toMatch(/Error ID: [0-9a-f]{12}/);
      expect(await cookieNames(env, context)).toEqual([]);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("IdP-initiated logout over HTTP-Redirect: IdP → /saml/slo → the IdP's SLO with a Success LogoutResponse", async () => {
      const { page, context, cspViolations } = await login("acme");
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      const { token } = await expectSamlIdToken(env, context, "acme", ACME_USER.mail);

      await page.goto(`${env.idpRedirect.base}/browser/logout?binding=redirect`);
      await page.waitForURL((url) => url.href.startsWith(`${env.idpRedirect.base}/slo?SAMLResponse=`), {
        timeout: FLOW_MS,
      });
      const result = JSON.parse((await page.textContent("body")) ?? "{}") as Record<string, unknown>;
      expect(result).toMatchObject({ direction: "idp", success: true, signatureVerified: true });
      // Tikti's reply expired the idToken cookie on the cross-site redirect, and the session is over.
      expect(await cookieNames(env, context)).toEqual([]);
      expect((await env.api("/accounts/lookup", { json: { idToken: token } })).status).toBe(401);
      expect(cspViolations).toEqual([]);
      await context.close();
    });

    it("IdP-initiated logout over HTTP-POST: IdP form → /saml/slo → Tikti's auto-submit form → the IdP", async () => {
      const { page, context, cspViolations } = await login("globex");
      await page.waitForURL(`${env.base}${POST_LOGIN}`, { timeout: FLOW_MS });
      const { token } = await expectSamlIdToken(env, context, "globex", GLOBEX_USER.mail);

      await page.goto(`${env.idpPost.base}/browser/logout?binding=post`);
      await page.waitForURL(`${env.idpPost.base}/slo`, { timeout: FLOW_MS });
      expect(await page.textContent("#idp-result")).toBe("Signed out");
      const last = (await env.idpPost.last()).logoutResults.at(-1);
      expect(last).toMatchObject({ direction: "idp", success: true });
      expect(await cookieNames(env, context)).toEqual([]);
      expect((await env.api("/accounts/lookup", { json: { idToken: token } })).status).toBe(401);
      expect(cspViolations).toEqual([]);
      await context.close();
    });
  },
);
