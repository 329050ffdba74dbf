/**
 * `tikti_auth_fail_total{route,code}` (docs/spec/operations.md §6) is counted once per 401/403 answer by
 * the observation middleware, with the canonical route: whichever layer refused (an auth guard, a
 * service, OAuth client authentication), the delta of the whole series is exactly 1 — a second
 * counter anywhere (a route, a service) would make it 2.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

/** Every sample of the series, by its label text (`code="…",route="…"`). */
function samples(t: TestApp): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of t.deps.metrics.render().split("\n")) {
    const m = /^tikti_auth_fail_total\{(.*)\} (\d+)$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** What one request added to the series: label text → increment. */
async function delta(
  t: TestApp,
  request: () => Promise<Response>,
  status: number,
): Promise<Record<string, number>> {
  const before = samples(t);
  const res = await request();
  expect(res.status, await res.clone().text()).toBe(status);
  const out: Record<string, number> = {};
  for (const [labels, value] of samples(t)) {
    const added = value - (before.get(labels) ?? 0);
    if (added !== 0) out[labels] = added;
  }
  return out;
}

const once = (route: string, code: string) => ({ [`code="${code}",route="${route}"`]: 1 });

/** A concrete path for a route template (`:param` → a well-formed value). */
const concrete = (path: string) => path.replace(/:[A-Za-z]+/g, "acme");

describe("tikti_auth_fail_total counted once per 401/403 answer", () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await buildTestApp({ store: await openTempEmbedded(), config: { rateLimits: { enabled: false } } });
  });

  it("every API-key and admin route: 401 API_KEY_INVALID counts once, under the canonical route (also via /v1)", async () => {
    const guarded = t.app.routeSpecs.filter((s) => s.auth === "key" || s.auth === "admin");
    expect(guarded.length).toBeGreaterThan(30);
    for (const spec of guarded) {
      for (const prefix of ["", "/v1"]) {
        const call = () =>
          t.call(`${prefix}${concrete(spec.path)}`, {
            method: spec.method,
            key: false,
            ...(spec.method === "GET" || spec.method === "DELETE" ? {} : { json: {} }),
          });
        expect({ route: `${spec.method} ${prefix}${spec.path}`, added: await delta(t, call, 401) }).toEqual({
          route: `${spec.method} ${prefix}${spec.path}`,
          added: once(spec.path, "API_KEY_INVALID"),
        });
      }
    }
  });

  it("refusals by services count once with their own code", async () => {
    const cases: Array<[route: string, body: unknown, status: number, code: string]> = [
      [
        "/accounts/signIn",
        { email: "nobody@example.com", password: "wrong-password" },
        401,
        "INVALID_CREDENTIALS",
      ],
      ["/accounts/lookup", { idToken: "not-a-token" }, 401, "INVALID_TOKEN"],
      ["/accounts/update", { idToken: "not-a-token", password: "a-new-password-1" }, 401, "INVALID_TOKEN"],
      ["/accounts/delete", { idToken: "not-a-token" }, 401, "INVALID_TOKEN"],
      ["/accounts/token/exchange", { idToken: "", audience: "" }, 401, "INVALID_TOKEN"],
      ["/accounts/validate", { token: "not-a-token", audience: "worker" }, 401, "INVALID_TOKEN"],
      [
        "/accounts/signInWithOobCode",
        { email: "nobody@example.com", oobCode: "no-such-code" },
        401,
        "INVALID_OOB_CODE",
      ],
      [
        "/accounts/resetPassword",
        { oobCode: "no-such-code", newPassword: "a-new-password-1" },
        401,
        "INVALID_OOB_CODE",
      ],
    ];
    for (const [route, json, status, code] of cases) {
      const added = await delta(t, () => t.call(route, { json }), status);
      expect({ route, added }).toEqual({ route, added: once(route, code) });
    }
  });

  it("OAuth client authentication: 401 invalid_client counts once, from the RFC 6749 body", async () => {
    const added = await delta(
      t,
      () =>
        t.call("/oauth/token", {
          method: "POST",
          key: false,
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=client_credentials&client_id=acme%2Fghost&client_secret=wrong",
        }),
      401,
    );
    expect(added).toEqual(once("/oauth/token", "invalid_client"));
  });

  it("the admin bearer (admin.requireAdminToken): 401 ADMIN_AUTH_REQUIRED counts once", async () => {
    const strict = await buildTestApp({
      store: await openTempEmbedded(),
      config: { admin: { requireAdminToken: true } },
    });
    expect(await delta(strict, () => strict.call("/tenants"), 401)).toEqual(
      once("/tenants", "ADMIN_AUTH_REQUIRED"),
    );
  });

  it("the sign-up policy guard (accounts.signUp apiKey): 401 API_KEY_INVALID counts once", async () => {
    const keyed = await buildTestApp({
      store: await openTempEmbedded(),
      config: { accounts: { signUp: "apiKey" } },
    });
    const added = await delta(
      keyed,
      () =>
        keyed.call("/accounts/signUp", {
          json: { email: "new@example.com", password: "long-enough-1" },
          key: false,
        }),
      401,
    );
    expect(added).toEqual(once("/accounts/signUp", "API_KEY_INVALID"));
  });

  it("answers other than 401/403 are not counted", async () => {
    expect(await delta(t, () => t.call("/tenants/ghost"), 404)).toEqual({});
    expect(await delta(t, () => t.call("/accounts/lookup", { json: { idToken: 5 } }), 400)).toEqual({});
  });
});
