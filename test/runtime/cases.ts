/**
 * One list of HTTP cases replayed against the server on every runtime (Bun, Deno, Node) and the
 * compiled binary, so "runs unchanged on all three" is checked, not assumed.
 */
import { expect } from "vitest";

export interface SmokeTarget {
  baseUrl: string;
}

export const smokeCases: Array<{ name: string; run: (t: SmokeTarget) => Promise<void> }> = [
  {
    name: "GET /healthz answers ok with a request id",
    async run({ baseUrl }) {
      const res = await fetch(`${baseUrl}/healthz`, { headers: { "X-Request-ID": "smoke-1" } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
      expect(res.headers.get("x-request-id")).toBe("smoke-1");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    },
  },
  {
    name: "GET /readyz is ready with every check ok",
    async run({ baseUrl }) {
      const res = await fetch(`${baseUrl}/readyz`);
      const body = await res.json();
      expect(body).toMatchObject({
        status: "ready",
        checks: { store: "ok", signingKey: "ok", shutdown: "ok" },
      });
      expect(res.status).toBe(200);
    },
  },
  {
    name: "GET /metrics serves Prometheus text with core and process series",
    async run({ baseUrl }) {
      await fetch(`${baseUrl}/v1/.well-known/jwks.json`);
      const res = await fetch(`${baseUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      expect(text).toContain("# TYPE tikti_http_requests_total counter");
      // The /v1 alias is reported under its canonical route.
      expect(text).toMatch(
        /tikti_http_requests_total\{method="GET",route="\/\.well-known\/jwks\.json",status="200"\} \d+/,
      );
      expect(text).toMatch(/process_resident_memory_bytes \d+/);
      expect(text).toMatch(/tikti_jwks_keys 1/);
    },
  },
  {
    name: "JWKS is served at both paths, byte-identical, with its cache header",
    async run({ baseUrl }) {
      const a = await fetch(`${baseUrl}/.well-known/jwks.json`);
      const b = await fetch(`${baseUrl}/v1/.well-known/jwks.json`);
      expect(a.status).toBe(200);
      expect(a.headers.get("cache-control")).toBe("public, max-age=300");
      const text = await a.text();
      expect(await b.text()).toBe(text);
      const jwks = JSON.parse(text);
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({
        kty: "RSA",
        kid: "test-key-1",
        alg: "RS256",
        use: "sig",
        e: "AQAB",
      });
      expect(jwks.keys[0].d).toBeUndefined();
    },
  },
  {
    // The common-password list is a JSON module import: proves it loads on every runtime and in
    // the compiled binary (a missing list would let "password123" through or crash the route).
    name: "sign-up refuses a common password (the bundled list loads) and accepts an uncommon one",
    async run({ baseUrl }) {
      const signUp = (email: string, password: string) =>
        fetch(`${baseUrl}/accounts/signUp`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password }),
        });
      const id = crypto.randomUUID().slice(0, 8);
      const common = await signUp(`common-${id}@example.com`, "Password123");
      expect(common.status).toBe(400);
      expect(await common.json()).toMatchObject({
        code: "INVALID_ARGUMENT",
        details: { password: "too common" },
      });
      const fine = await signUp(`fine-${id}@example.com`, "correct horse battery staple");
      expect(fine.status).toBe(200);
      await fine.body?.cancel();
    },
  },
  {
    name: "refresh tokens: sign-up → /accounts/token rotates → reuse and sign-out end the family",
    async run({ baseUrl }) {
      const post = (path: string, body: unknown) =>
        fetch(`${baseUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const email = `smoke-${crypto.randomUUID()}@example.com`;
      const signUp = await post("/accounts/signUp", { email, password: `Smoke-${crypto.randomUUID()}` });
      expect(signUp.status).toBe(200);
      const first = (await signUp.json()).refreshToken as string;
      expect(first).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      const rotated = await post("/accounts/token", { grantType: "refresh_token", refreshToken: first });
      expect(rotated.status).toBe(200);
      const body = await rotated.json();
      expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(body.idToken.split(".")).toHaveLength(3);
      const next = await post("/v1/accounts/token", {
        grantType: "refresh_token",
        refreshToken: body.refreshToken,
      });
      expect(next.status).toBe(200);
      const { refreshToken: third } = await next.json();
      // Reuse of the first token revokes the family, the live third token included.
      const reuse = await post("/accounts/token", { grantType: "refresh_token", refreshToken: first });
      expect([reuse.status, (await reuse.json()).code]).toEqual([400, "INVALID_REFRESH_TOKEN"]);
      const dead = await post("/accounts/token", { grantType: "refresh_token", refreshToken: third });
      expect(dead.status).toBe(400);
      await dead.body?.cancel();
      const out = await post("/accounts/signOut", { refreshToken: third });
      expect([out.status, await out.json()]).toEqual([200, {}]);
    },
  },
  {
    name: "unknown path → 404 NOT_FOUND, wrong method → 405 with Allow",
    async run({ baseUrl }) {
      const nf = await fetch(`${baseUrl}/nope`);
      expect(nf.status).toBe(404);
      expect(await nf.json()).toEqual({ error: "not found", code: "NOT_FOUND" });
      const na = await fetch(`${baseUrl}/healthz`, { method: "POST" });
      expect(na.status).toBe(405);
      expect(na.headers.get("allow")).toContain("GET");
      expect((await na.json()).code).toBe("METHOD_NOT_ALLOWED");
    },
  },
];
