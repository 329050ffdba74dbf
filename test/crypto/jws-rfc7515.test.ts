// RFC 7515 Appendix A known-answer vectors, each with a negative twin, run through the signature
// layers of the idToken (A.1, HS256) and access-token (A.2, RS256) verifiers. The examples carry no
// iss/aud/iat, so the claim checks of docs/spec/tokens.md §4 do not apply to them.
import { importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { verifyAccessTokenCrypto, verifyRs256Signature } from "../../src/crypto/access-token.ts";
import { verifyIdTokenSignature } from "../../src/crypto/id-token.ts";
import {
  base64UrlDecode,
  base64UrlEncode,
  hs256Sign,
  importHs256Key,
  TokenCheckFailed,
} from "../../src/crypto/jws.ts";

const PAYLOAD =
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const CLAIMS = { iss: "joe", exp: 1300819380, "http://example.com/is_root": true };

/** Flips the lowest bit of the first signature byte. */
function flipSignatureBit(token: string): string {
  const [h, p, s] = token.split(".") as [string, string, string];
  const sig = base64UrlDecode(s)!;
  sig[0] = sig[0]! ^ 1;
  return `${h}.${p}.${base64UrlEncode(sig)}`;
}

async function reason(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (e) {
    if (e instanceof TokenCheckFailed) return e.reason;
    throw e;
  }
}

describe("RFC 7515 A.1: HMAC SHA-256 (idToken signature layer, procedure V steps 1-2)", () => {
  const k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
  const header = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"; // {"typ":"JWT",\r\n "alg":"HS256"}
  const signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const token = `${header}.${PAYLOAD}.${signature}`;
  const key = importHs256Key(base64UrlDecode(k)!);

  it("computes the example signature", async () => {
    const mac = await hs256Sign(await key, new TextEncoder().encode(`${header}.${PAYLOAD}`));
    expect(base64UrlEncode(mac)).toBe(signature);
  });
  it("verifies the example JWS and returns its claims", async () => {
    expect(await verifyIdTokenSignature(await key, token)).toEqual(CLAIMS);
  });
  it("negative twin: one flipped signature bit fails", async () => {
    expect(await reason(verifyIdTokenSignature(await key, flipSignatureBit(token)))).toBe("signature");
  });
});

describe("RFC 7515 A.2: RSASSA-PKCS1-v1_5 SHA-256 (access-token signature layer, §4.3 steps 1-2)", () => {
  const jwk = {
    kty: "RSA",
    n:
      "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS" +
      "-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2C" +
      "apHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb5" +
      "4h4FRWyuXpoQ",
    e: "AQAB",
  };
  const token =
    `eyJhbGciOiJSUzI1NiJ9.${PAYLOAD}.` +
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr" +
    "7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--x" +
    "i12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_Ioy" +
    "pGlUPQGe77Rw";
  const key = importJWK(jwk, "RS256") as Promise<CryptoKey>;

  it("verifies the example JWS with the RFC's public key and returns its claims", async () => {
    expect(await verifyRs256Signature(await key, token)).toEqual(CLAIMS);
  });
  it("negative twin: one flipped signature bit fails", async () => {
    expect(await reason(verifyRs256Signature(await key, flipSignatureBit(token)))).toBe("signature");
  });
  it("the full validator refuses the example: it has no kid (§4.3 step 1)", async () => {
    const keyRing = { verificationKeys: new Map([["rfc7515", await key]]) };
    const err = await verifyAccessTokenCrypto(keyRing, token, {
      audience: "x",
      issuer: "joe",
      now: 0,
      skew: 30,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INVALID_TOKEN", details: { reason: "unknown_kid" } });
  });
});
