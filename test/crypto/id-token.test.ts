import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createIdTokenSigner, type IdTokenConfig, isSamlIdToken } from "../../src/crypto/id-token.ts";
import { TokenCheckFailed } from "../../src/crypto/jws.ts";
import { isTiktiError } from "../../src/errors.ts";

const NOW_MS = 1_750_000_000_123;
const NOW = 1_750_000_000;
const config: IdTokenConfig = {
  jwtSecret: "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF",
  issuerBaseUrl: "https://id.example.com",
  defaultAudience: "tikti",
  idTokenTtlSeconds: 3600,
  clockSkewSeconds: 30,
};
const clock = { now: () => NOW_MS };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SID = "0123456789abcdef0123456789abcdef";

const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const decode = (segment: string) => JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));

/** A token with any header and payload, MACed by node:crypto (independent of the code under test). */
function forge(header: object, payload: object, secret = config.jwtSecret): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

const HEADER = { alg: "HS256", typ: "JWT" };
const VALID = {
  iss: config.issuerBaseUrl,
  aud: "tikti",
  sub: "user-1",
  userId: "user-1",
  email: "a@x.com",
  role: "COMPANY_EMPLOYEE",
  tid: "tenant-1",
  amr: ["pwd"],
  ver: 3,
  iat: NOW,
  exp: NOW + 3600,
  jti: "4b1c0b8e-3f2a-4c55-9d1e-0a2b3c4d5e6f",
};

const signer = createIdTokenSigner(config, clock);

async function failure(token: string, options?: { ignoreExpiry?: boolean }): Promise<string> {
  const err = await (await signer).verifyIdTokenCrypto(token, NOW_MS, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTiktiError(err)) throw new Error(`expected INVALID_TOKEN, got ${String(err)}`);
  expect(err.code).toBe("INVALID_TOKEN");
  expect(err.status).toBe(401);
  // The reason is for logs only: the response body is the catalogue's.
  expect(err.toBody()).toEqual({ error: "invalid token", code: "INVALID_TOKEN" });
  expect(err.cause).toBeInstanceOf(TokenCheckFailed);
  return (err.cause as TokenCheckFailed).reason;
}

describe("idToken claims (docs/spec/tokens.md §2)", () => {
  it("password sign-in: exact header, claim set and order", async () => {
    const { token, claims } = await (await signer).sign({
      sub: "user-1",
      email: "a@x.com",
      role: "COMPANY_EMPLOYEE",
      tid: "tenant-1",
      amr: "pwd",
      ver: 3,
    });
    const [h, p] = token.split(".") as [string, string];
    expect(Buffer.from(h, "base64url").toString()).toBe('{"alg":"HS256","typ":"JWT"}');
    const payload = decode(p);
    expect(payload).toEqual(claims);
    expect(Object.keys(payload)).toEqual([
      "iss",
      "aud",
      "sub",
      "userId",
      "email",
      "role",
      "tid",
      "amr",
      "ver",
      "iat",
      "exp",
      "jti",
    ]);
    expect(payload).toEqual({
      iss: "https://id.example.com",
      aud: "tikti",
      sub: "user-1",
      userId: "user-1",
      email: "a@x.com",
      role: "COMPANY_EMPLOYEE",
      tid: "tenant-1",
      amr: ["pwd"],
      ver: 3,
      iat: NOW,
      exp: NOW + 3600,
      jti: expect.stringMatching(UUID_V4),
    });
  });

  it("email code sign-in without a home tenant: tid omitted", async () => {
    const { token } = await (await signer).sign({
      sub: "u2",
      email: "b@x.com",
      role: "ADMIN",
      tid: "",
      amr: "oob",
      ver: 0,
    });
    const payload = decode(token.split(".")[1]!);
    expect(payload).toEqual({
      iss: "https://id.example.com",
      aud: "tikti",
      sub: "u2",
      userId: "u2",
      email: "b@x.com",
      role: "ADMIN",
      amr: ["oob"],
      ver: 0,
      iat: NOW,
      exp: NOW + 3600,
      jti: expect.stringMatching(UUID_V4),
    });
    expect("tid" in payload).toBe(false);
  });

  it("SAML: sid, the login tenant and the session expiry", async () => {
    const { token } = await (await signer).sign({
      sub: "u3",
      email: "c@x.com",
      role: "COMPANY_EMPLOYEE",
      tid: "tenant-9",
      amr: "saml",
      ver: 1,
      sid: SID,
      exp: NOW + 1800,
    });
    const payload = decode(token.split(".")[1]!);
    expect(Object.keys(payload)).toEqual([
      "iss",
      "aud",
      "sub",
      "userId",
      "email",
      "role",
      "tid",
      "amr",
      "ver",
      "sid",
      "iat",
      "exp",
      "jti",
    ]);
    expect(payload).toMatchObject({ tid: "tenant-9", amr: ["saml"], sid: SID, iat: NOW, exp: NOW + 1800 });
  });

  it("every token has its own jti", async () => {
    const s = await signer;
    const input = { sub: "u", email: "e@x.com", role: "ADMIN", amr: "pwd" as const, ver: 0 };
    expect((await s.sign(input)).claims.jti).not.toBe((await s.sign(input)).claims.jti);
  });

  it.each([
    ["SAML without sid", { amr: "saml" as const }],
    ["SAML with a malformed sid", { amr: "saml" as const, sid: "ABC" }],
    ["sid on a password token", { amr: "pwd" as const, sid: SID }],
    ["empty sub", { amr: "pwd" as const, sub: "" }],
    ["negative ver", { amr: "pwd" as const, ver: -1 }],
    ["exp not after iat", { amr: "pwd" as const, exp: NOW }],
  ])("refuses to sign: %s", async (_name, patch) => {
    const input = { sub: "u", email: "e@x.com", role: "ADMIN", ver: 0, ...patch };
    await expect((await signer).sign(input)).rejects.toMatchObject({ code: "INTERNAL" });
  });
});

describe("procedure V steps 1-5 (docs/spec/tokens.md §4.1)", () => {
  it("accepts its own token and returns the normalised claims", async () => {
    const s = await signer;
    const { token } = await s.sign({
      sub: "user-1",
      email: "a@x.com",
      role: "ADMIN",
      tid: "t1",
      amr: "pwd",
      ver: 4,
    });
    expect(await s.verifyIdTokenCrypto(token, NOW_MS)).toEqual({
      iss: "https://id.example.com",
      aud: "tikti",
      sub: "user-1",
      email: "a@x.com",
      iat: NOW,
      exp: NOW + 3600,
      ver: 4,
      amr: ["pwd"],
      tid: "t1",
      role: "ADMIN",
      jti: expect.stringMatching(UUID_V4),
    });
  });

  it("accepts a forged-by-reference token (node:crypto HMAC) and a header without typ", async () => {
    const s = await signer;
    expect((await s.verifyIdTokenCrypto(forge(HEADER, VALID), NOW_MS)).sub).toBe("user-1");
    expect((await s.verifyIdTokenCrypto(forge({ alg: "HS256" }, VALID), NOW_MS)).sub).toBe("user-1");
  });

  it("normalises Go-era and odd claims for V8/V10: ver absent → 0, malformed → null; amr", async () => {
    const s = await signer;
    const { ver: _v, amr: _a, ...goEra } = VALID;
    expect(await s.verifyIdTokenCrypto(forge(HEADER, goEra), NOW_MS)).toMatchObject({ ver: 0, amr: [] });
    const odd = await s.verifyIdTokenCrypto(forge(HEADER, { ...VALID, ver: "3", amr: "saml" }), NOW_MS);
    expect(odd).toMatchObject({ ver: null, amr: ["saml"] });
    expect(isSamlIdToken(odd)).toBe(true);
  });

  // V1
  it("V1: two segments", async () => {
    const [h, p] = forge(HEADER, VALID).split(".");
    expect(await failure(`${h}.${p}`)).toBe("malformed");
  });
  it("V1: four segments", async () => {
    expect(await failure(`${forge(HEADER, VALID)}.x`)).toBe("malformed");
  });
  it("V1: a segment that is not base64url", async () => {
    const [h, p, s] = forge(HEADER, VALID).split(".") as [string, string, string];
    expect(await failure(`${h}.${p}.${s.slice(0, -2)}+/`)).toBe("malformed");
    expect(await failure(`${h}=.${p}.${s}`)).toBe("malformed");
  });
  it("V1: header that is not a JSON object", async () => {
    const [, p, s] = forge(HEADER, VALID).split(".");
    expect(await failure(`${b64url("[1]")}.${p}.${s}`)).toBe("malformed");
  });
  it("V1: alg none (unsigned)", async () => {
    const [, p] = forge(HEADER, VALID).split(".");
    expect(await failure(`${b64url('{"alg":"none","typ":"JWT"}')}.${p}.`)).toBe("malformed");
  });
  it("V1: alg none (with a signature)", async () => {
    expect(await failure(forge({ alg: "none", typ: "JWT" }, VALID))).toBe("alg");
  });
  it("V1: alg RS256", async () => {
    expect(await failure(forge({ alg: "RS256", typ: "JWT" }, VALID))).toBe("alg");
  });
  it("V1: alg in another case", async () => {
    expect(await failure(forge({ alg: "hs256", typ: "JWT" }, VALID))).toBe("alg");
  });
  it("V1: crit present", async () => {
    expect(await failure(forge({ alg: "HS256", typ: "JWT", crit: ["exp"] }, VALID))).toBe("crit");
  });
  it("V1: typ other than JWT", async () => {
    expect(await failure(forge({ alg: "HS256", typ: "at+jwt" }, VALID))).toBe("typ");
    expect(await failure(forge({ alg: "HS256", typ: "jwt" }, VALID))).toBe("typ");
  });
  // V2
  it("V2: bad signature (one flipped bit)", async () => {
    const [h, p, s] = forge(HEADER, VALID).split(".") as [string, string, string];
    const sig = Buffer.from(s, "base64url");
    sig[31] = sig[31]! ^ 0x80;
    expect(await failure(`${h}.${p}.${sig.toString("base64url")}`)).toBe("signature");
  });
  it("V2: signed with another secret", async () => {
    expect(await failure(forge(HEADER, VALID, `${config.jwtSecret}x`))).toBe("signature");
  });
  it("V2: payload changed after signing", async () => {
    const [h, , s] = forge(HEADER, VALID).split(".");
    expect(await failure(`${h}.${b64url(JSON.stringify({ ...VALID, sub: "admin" }))}.${s}`)).toBe(
      "signature",
    );
  });
  it("V2: a truncated signature", async () => {
    const [h, p, s] = forge(HEADER, VALID).split(".") as [string, string, string];
    expect(await failure(`${h}.${p}.${s.slice(0, 20)}`)).toBe("signature");
  });
  // V3
  it("V3: exp past the skew; the boundary is exclusive", async () => {
    expect(await failure(forge(HEADER, { ...VALID, exp: NOW - 31 }))).toBe("exp");
    expect(await failure(forge(HEADER, { ...VALID, exp: NOW - 30 }))).toBe("exp");
    await expect(
      (await signer).verifyIdTokenCrypto(forge(HEADER, { ...VALID, exp: NOW - 29 }), NOW_MS),
    ).resolves.toBeTruthy();
  });
  it("V3: iat in the future beyond the skew; the boundary is inclusive", async () => {
    expect(await failure(forge(HEADER, { ...VALID, iat: NOW + 31 }))).toBe("iat");
    await expect(
      (await signer).verifyIdTokenCrypto(forge(HEADER, { ...VALID, iat: NOW + 30 }), NOW_MS),
    ).resolves.toBeTruthy();
  });
  it("V3: non-integer exp", async () => {
    expect(await failure(forge(HEADER, { ...VALID, exp: String(NOW + 60) }))).toBe("exp");
    expect(await failure(forge(HEADER, { ...VALID, exp: NOW + 60.5 }))).toBe("exp");
  });
  it("V3: missing exp, non-integer iat, missing iat", async () => {
    const { exp: _e, ...noExp } = VALID;
    const { iat: _i, ...noIat } = VALID;
    expect(await failure(forge(HEADER, noExp))).toBe("exp");
    expect(await failure(forge(HEADER, { ...VALID, iat: "now" }))).toBe("iat");
    expect(await failure(forge(HEADER, noIat))).toBe("iat");
  });
  // V4
  it("V4: iss mismatch", async () => {
    expect(await failure(forge(HEADER, { ...VALID, iss: "https://id.example.com/" }))).toBe("iss");
  });
  it("V4: iss missing", async () => {
    const { iss: _i, ...noIss } = VALID;
    expect(await failure(forge(HEADER, noIss))).toBe("iss");
  });
  it("V4: aud mismatch", async () => {
    expect(await failure(forge(HEADER, { ...VALID, aud: "codeq-worker" }))).toBe("aud");
  });
  it("V4: aud as an array, even one holding the audience", async () => {
    expect(await failure(forge(HEADER, { ...VALID, aud: ["tikti"] }))).toBe("aud");
  });
  it("V4: aud missing", async () => {
    const { aud: _a, ...noAud } = VALID;
    expect(await failure(forge(HEADER, noAud))).toBe("aud");
  });
  // V5
  it("V5: missing sub", async () => {
    const { sub: _s, ...noSub } = VALID;
    expect(await failure(forge(HEADER, noSub))).toBe("sub");
  });
  it("V5: empty or non-string sub", async () => {
    expect(await failure(forge(HEADER, { ...VALID, sub: "" }))).toBe("sub");
    expect(await failure(forge(HEADER, { ...VALID, sub: 42 }))).toBe("sub");
  });
  it("V5: missing email", async () => {
    const { email: _e, ...noEmail } = VALID;
    expect(await failure(forge(HEADER, noEmail))).toBe("email");
  });
  it("V5: empty email", async () => {
    expect(await failure(forge(HEADER, { ...VALID, email: "" }))).toBe("email");
  });
  it("payload that is not a JSON object (after a valid signature)", async () => {
    const h = b64url(JSON.stringify(HEADER));
    const p = b64url("not json");
    const input = `${h}.${p}`;
    const token = `${input}.${createHmac("sha256", config.jwtSecret).update(input).digest("base64url")}`;
    expect(await failure(token)).toBe("malformed");
  });

  describe("ignoreExpiry (saml logout: V1, V2, V4, V5)", () => {
    it("accepts an expired token", async () => {
      const token = forge(HEADER, { ...VALID, iat: NOW - 7200, exp: NOW - 3600 });
      expect(await failure(token)).toBe("exp");
      const claims = await (await signer).verifyIdTokenCrypto(token, NOW_MS, { ignoreExpiry: true });
      expect(claims.exp).toBe(NOW - 3600);
    });
    it("still checks signature, iss, aud, sub, and integer times", async () => {
      const opts = { ignoreExpiry: true };
      expect(await failure(forge(HEADER, { ...VALID, exp: 1 }, "other"), opts)).toBe("signature");
      expect(await failure(forge(HEADER, { ...VALID, exp: 1, iss: "x" }), opts)).toBe("iss");
      expect(await failure(forge(HEADER, { ...VALID, exp: 1, aud: "x" }), opts)).toBe("aud");
      expect(await failure(forge(HEADER, { ...VALID, exp: 1, sub: "" }), opts)).toBe("sub");
      expect(await failure(forge(HEADER, { ...VALID, exp: "1" }), opts)).toBe("exp");
    });
  });
});
