import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { jwksProblems } from "../../src/services/oauth/client-jwks.ts";

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** The RSA modulus size rule of a client's JWKS counts significant bits only. */
describe("client jwks: RSA modulus size", () => {
  it("ignores leading zero bytes of n and refuses an all-zero modulus", async () => {
    const { publicKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "k" };
    const n = Buffer.from(String(jwk.n), "base64url");
    expect(await jwksProblems({ keys: [jwk] })).toEqual({});
    // 0x00 ‖ n is the same 2048-bit number, not a 2056-bit one.
    const padded = { ...jwk, n: b64url(new Uint8Array([0, ...n])) };
    expect(await jwksProblems({ keys: [padded] })).toEqual({});
    for (const zero of [new Uint8Array(256), new Uint8Array(0)]) {
      expect(await jwksProblems({ keys: [{ ...jwk, n: b64url(zero) }] })).toEqual({
        "jwks.keys.0": "RSA modulus must be 2048-16384 bits",
      });
    }
  });
});
