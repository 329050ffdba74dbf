/**
 * The one OAuth error mapper (docs/spec/oauth.md §9, src/http/oauth-errors.ts) and the form intake
 * (src/http/oauth-form.ts): store outages become `503 temporarily_unavailable` with `Retry-After`,
 * unexpected failures `500 server_error` without details, and RFC 6749 §3.1 parameter rules.
 */
import { describe, expect, it } from "vitest";
import { storeUnavailable } from "../../src/errors.ts";
import type { KV } from "../../src/store/kv.ts";
import { buildTestApp } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";
import { basic, createClient, createTenant, expectOAuthError, T1 } from "./support.ts";

/** The store with `hget` failing the way an engine reports an outage (or with a raw bug). */
function failingHget(kv: KV, error: () => unknown): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === "hget") return async () => Promise.reject(error());
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

const form = (body: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  key: false,
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body,
});

describe("OAuth error mapping", () => {
  it("answers a store outage with 503 temporarily_unavailable and Retry-After", async () => {
    const t = await buildTestApp({
      store: failingHget(await openTempEmbedded(), () => storeUnavailable(new Error("down"))),
    });
    const res = await t.call(
      "/oauth/token",
      form("grant_type=client_credentials&client_id=acme%2Fw&client_secret=x"),
    );
    await expectOAuthError(res, 503, "temporarily_unavailable");
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("answers an unexpected failure with 500 server_error and nothing of the cause", async () => {
    const t = await buildTestApp({
      store: failingHget(await openTempEmbedded(), () => new Error("secret detail")),
    });
    const res = await t.call(
      "/oauth/token",
      form("grant_type=client_credentials&client_id=acme%2Fw&client_secret=x"),
    );
    const body = await expectOAuthError(res, 500, "server_error");
    expect(JSON.stringify(body)).not.toContain("secret detail");
  });

  it("treats empty parameters as omitted (RFC 6749 §3.1) but refuses a name sent twice even when empty", async () => {
    const t = await buildTestApp({ store: await openTempEmbedded() });
    await createTenant(t, T1);
    const c = await createClient(t, T1, {
      clientId: "w",
      allowedGrantTypes: ["client_credentials"],
      defaultScopes: [],
    });
    const auth = { authorization: basic(c.oauthClientId, c.secret) };
    expect(
      (await t.call("/oauth/token", form("grant_type=client_credentials&scope=&audience=", auth))).status,
    ).toBe(200);
    await expectOAuthError(
      await t.call("/oauth/token", form("grant_type=client_credentials&scope=&scope=", auth)),
      400,
      "invalid_request",
    );
    await expectOAuthError(await t.call("/oauth/token", form("grant_type=", auth)), 400, "invalid_request");
    // charset parameters on the media type are fine; other media types are not
    expect(
      (
        await t.call(
          "/oauth/token",
          form("grant_type=client_credentials", {
            ...auth,
            "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
          }),
        )
      ).status,
    ).toBe(200);
    await expectOAuthError(
      await t.call(
        "/oauth/token",
        form("grant_type=client_credentials", { ...auth, "content-type": "text/plain" }),
      ),
      400,
      "invalid_request",
    );
  });
});
