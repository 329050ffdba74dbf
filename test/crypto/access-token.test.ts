import { createSign } from "node:crypto";
import { createLocalJWKSet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AccessTokenCheck,
  type AccessTokenClaims,
  createWebCryptoAccessTokenSigner,
  orderAccessTokenClaims,
  signAccessToken,
  verifyAccessTokenCrypto,
} from "../../src/crypto/access-token.ts";
import { type KeyRing, loadKeyRing } from "../../src/crypto/keyring.ts";
import { isTiktiError } from "../../src/errors.ts";
import { generateRsaPem } from "../support/keys.ts";

const NOW = 1_750_000_000;
const ISSUER = "https://id.example.com";
const check: AccessTokenCheck = { audience: "codeq-worker", issuer: ISSUER, now: NOW * 1000 + 456, skew: 30 };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const CLAIMS: Omit<AccessTokenClaims, "jti"> = {
  iss: ISSUER,
  aud: "codeq-worker",
  sub: "user-1",
  email: "a@x.com",
  tid: "tenant-1",
  scope: "codeq:claim codeq:result",
  eventTypes: ["render_video", "generate_master"],
  ver: 7,
  iat: NOW,
  exp: NOW + 1800,
};

let activePem: string;
let retiredPem: string;
let strangerPem: string;
let keyRing: KeyRing;

beforeAll(async () => {
  [activePem, retiredPem, strangerPem] = await Promise.all([
    generateRsaPem(),
    generateRsaPem(),
    generateRsaPem(),
  ]);
  keyRing = await loadKeyRing({
    activePrivateKeyPem: activePem,
    activeKid: "tikti-2025-06",
    extra: [{ kid: "tikti-2025-01", privateKey: retiredPem }],
  });
});

const b64url = (s: string) => Buffer.from(s).toString("base64url");
const decode = (segment: string) => JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));

/** Any header and payload, signed by node:crypto (independent of the code under test). */
function forge(header: object, payload: object, pem = activePem): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(pem, "base64url")}`;
}
const HEADER = { alg: "RS256", typ: "JWT", kid: "tikti-2025-06" };
const PAYLOAD = { ...CLAIMS, jti: "4b1c0b8e-3f2a-4c55-9d1e-0a2b3c4d5e6f" };

async function reasonOf(token: string, c: AccessTokenCheck = check): Promise<string | undefined> {
  try {
    await verifyAccessTokenCrypto(keyRing, token, c);
    return undefined;
  } catch (e) {
    if (!isTiktiError(e)) throw e;
    expect(e.code).toBe("INVALID_TOKEN");
    expect(e.toBody()).toEqual({ error: "invalid token", code: "INVALID_TOKEN", details: e.details });
    return e.details?.reason;
  }
}

describe("access token signing (docs/spec/tokens.md §3)", () => {
  it("header {alg, typ, kid} and the claims in a stable order", async () => {
    const token = await signAccessToken(keyRing, CLAIMS);
    const [h, p] = token.split(".") as [string, string];
    expect(Buffer.from(h, "base64url").toString()).toBe('{"alg":"RS256","typ":"JWT","kid":"tikti-2025-06"}');
    const payload = decode(p);
    expect(Object.keys(payload)).toEqual([
      "iss",
      "aud",
      "sub",
      "email",
      "tid",
      "scope",
      "eventTypes",
      "ver",
      "iat",
      "exp",
      "jti",
    ]);
    expect(payload).toEqual({ ...CLAIMS, jti: expect.stringMatching(UUID_V4) });
  });

  it("order does not depend on how the caller built the object; act sits after sub", () => {
    const shuffled = {
      jti: "j",
      exp: 2,
      iat: 1,
      ver: 0,
      tid: "t",
      email: "e",
      act: { sub: "user-1" },
      sub: "svc",
      aud: "a",
      iss: "i",
    };
    expect(Object.keys(orderAccessTokenClaims(shuffled))).toEqual([
      "iss",
      "aud",
      "sub",
      "act",
      "email",
      "tid",
      "ver",
      "iat",
      "exp",
      "jti",
    ]);
  });

  it("omits an empty scope and empty eventTypes; act only when given", async () => {
    const token = await signAccessToken(keyRing, { ...CLAIMS, scope: "", eventTypes: [] });
    const payload = decode(token.split(".")[1]!);
    expect("scope" in payload || "eventTypes" in payload || "act" in payload).toBe(false);
    const withAct = decode(
      (await signAccessToken(keyRing, { ...CLAIMS, sub: "svc-account", act: { sub: "user-1" } })).split(
        ".",
      )[1]!,
    );
    expect(withAct).toMatchObject({ sub: "svc-account", act: { sub: "user-1" } });
  });

  it("keeps a given jti and makes a fresh UUID v4 otherwise", async () => {
    const given = await signAccessToken(keyRing, { ...CLAIMS, jti: "fixed" });
    expect(decode(given.split(".")[1]!).jti).toBe("fixed");
    const a = decode((await signAccessToken(keyRing, CLAIMS)).split(".")[1]!).jti;
    const b = decode((await signAccessToken(keyRing, CLAIMS)).split(".")[1]!).jti;
    expect(a).toMatch(UUID_V4);
    expect(a).not.toBe(b);
  });

  it("verifies with jose against the published JWKS (what resource servers do, §4.4)", async () => {
    const token = await signAccessToken(keyRing, CLAIMS);
    const jwks = createLocalJWKSet(JSON.parse(keyRing.jwksBody));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: "codeq-worker",
      algorithms: ["RS256"],
      currentDate: new Date(NOW * 1000),
    });
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "JWT", kid: "tikti-2025-06" });
    expect(payload).toMatchObject(CLAIMS);
  });

  it("verifies with our verifier and returns the claim set as signed", async () => {
    const token = await createWebCryptoAccessTokenSigner(keyRing).sign({ ...CLAIMS, jti: "j-1" });
    expect(await verifyAccessTokenCrypto(keyRing, token, check)).toEqual({ ...CLAIMS, jti: "j-1" });
  });
});

describe("access token validation steps 1-5 (docs/spec/tokens.md §4.3)", () => {
  it("accepts a token signed elsewhere (node:crypto) with the active key", async () => {
    expect(await reasonOf(forge(HEADER, PAYLOAD))).toBeUndefined();
  });
  it("accepts a token from a published, non-active key (rotation, §6.3)", async () => {
    expect(await reasonOf(forge({ ...HEADER, kid: "tikti-2025-01" }, PAYLOAD, retiredPem))).toBeUndefined();
  });
  it("accepts an aud array that contains the audience", async () => {
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, aud: ["other", "codeq-worker"] }))).toBeUndefined();
  });

  it("malformed: two segments", async () => {
    const [h, p] = forge(HEADER, PAYLOAD).split(".");
    expect(await reasonOf(`${h}.${p}`)).toBe("malformed");
  });
  it("malformed: not base64url", async () => {
    expect(await reasonOf(`${forge(HEADER, PAYLOAD)}!`)).toBe("malformed");
  });
  it("malformed: claim set that is not JSON", async () => {
    const [h, , s] = forge(HEADER, PAYLOAD).split(".");
    expect(await reasonOf(`${h}.${b64url("{nope")}.${s}`)).toBe("malformed");
  });
  it("malformed: crit present", async () => {
    expect(await reasonOf(forge({ ...HEADER, crit: ["exp"] }, PAYLOAD))).toBe("malformed");
  });
  it("algorithm: HS256 (docs/spec/api.md §2.11.7)", async () => {
    expect(await reasonOf(forge({ ...HEADER, alg: "HS256" }, PAYLOAD))).toBe("algorithm");
  });
  it("algorithm: none", async () => {
    expect(await reasonOf(forge({ ...HEADER, alg: "none" }, PAYLOAD))).toBe("algorithm");
  });
  it("algorithm: PS256 with a published kid", async () => {
    expect(await reasonOf(forge({ ...HEADER, alg: "PS256" }, PAYLOAD))).toBe("algorithm");
  });
  it("unknown_kid: kid missing", async () => {
    expect(await reasonOf(forge({ alg: "RS256", typ: "JWT" }, PAYLOAD))).toBe("unknown_kid");
  });
  it("unknown_kid: kid not published", async () => {
    expect(await reasonOf(forge({ ...HEADER, kid: "tikti-2024-01" }, PAYLOAD))).toBe("unknown_kid");
  });
  it("signature: a key that is not ours, under our kid", async () => {
    expect(await reasonOf(forge(HEADER, PAYLOAD, strangerPem))).toBe("signature");
  });
  it("signature: claims changed after signing", async () => {
    const [h, , s] = forge(HEADER, PAYLOAD).split(".");
    expect(await reasonOf(`${h}.${b64url(JSON.stringify({ ...PAYLOAD, scope: "admin" }))}.${s}`)).toBe(
      "signature",
    );
  });
  it("signature: signed by the retired key but labelled with the active kid", async () => {
    expect(await reasonOf(forge(HEADER, PAYLOAD, retiredPem))).toBe("signature");
  });
  it("issuer: mismatch or missing", async () => {
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, iss: "https://evil.example.com" }))).toBe("issuer");
    const { iss: _i, ...noIss } = PAYLOAD;
    expect(await reasonOf(forge(HEADER, noIss))).toBe("issuer");
  });
  it("audience: another string, an array without it, or missing", async () => {
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, aud: "billing" }))).toBe("audience");
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, aud: ["billing", 7] }))).toBe("audience");
    const { aud: _a, ...noAud } = PAYLOAD;
    expect(await reasonOf(forge(HEADER, noAud))).toBe("audience");
  });
  it("expired: exp <= now - skew (exclusive boundary), or not an integer", async () => {
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, exp: NOW - 30 }))).toBe("expired");
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, exp: NOW - 29 }))).toBeUndefined();
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, exp: `${NOW + 60}` }))).toBe("expired");
  });
  it("not_yet_valid: iat > now + skew (inclusive boundary)", async () => {
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, iat: NOW + 31 }))).toBe("not_yet_valid");
    expect(await reasonOf(forge(HEADER, { ...PAYLOAD, iat: NOW + 30 }))).toBeUndefined();
  });
  it("the reason travels in details and the check in cause", async () => {
    const err = await verifyAccessTokenCrypto(keyRing, forge(HEADER, { ...PAYLOAD, aud: "x" }), check).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "INVALID_TOKEN", status: 401, details: { reason: "audience" } });
    expect((err as Error).cause).toMatchObject({ reason: "audience" });
  });
});
