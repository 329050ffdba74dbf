/**
 * `fromBase64Url` (src/bytes.ts): canonical unpadded base64url only (RFC 7515 §2). The one-pass
 * table decoder (issue 14) is held to an independent reference — Node's own base64url codec plus
 * the canonical rule "re-encoding gives the same text" — on every string of up to three
 * characters over a mixed alphabet and on random strings, valid and invalid.
 */
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "../../src/bytes.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The reference: strict alphabet, no length 4k+1, canonical (re-encodes to itself). */
function reference(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? new Uint8Array(bytes) : undefined;
}

describe("fromBase64Url", () => {
  it("agrees with the reference on every string of 0–3 characters (alphabet, padding and foreign characters)", () => {
    const chars = `${ALPHABET}=+/ .\u00e9\u0100`;
    const strings = [""];
    for (const a of chars) {
      strings.push(a);
      for (const b of chars) {
        strings.push(a + b);
        // Every third character for length 3 keeps the run short while covering each spare-bit case.
        for (let k = 0; k < chars.length; k += 3) strings.push(a + b + (chars[k] as string));
      }
    }
    let valid = 0;
    for (const s of strings) {
      const want = reference(s);
      if (want) valid++;
      expect(fromBase64Url(s), JSON.stringify(s)).toEqual(want);
    }
    expect(valid).toBeGreaterThan(1000);
  });

  it("agrees with the reference on random strings and round-trips random bytes", () => {
    for (let round = 0; round < 2000; round++) {
      const bytes = crypto.getRandomValues(new Uint8Array(round % 97));
      const text = toBase64Url(bytes);
      expect(fromBase64Url(text)).toEqual(bytes);
      // One character changed anywhere: decoded exactly as the reference says.
      if (text.length > 0) {
        const at = round % text.length;
        const mutated = `${text.slice(0, at)}${"A+_/=\u00ff"[round % 6]}${text.slice(at + 1)}`;
        expect(fromBase64Url(mutated), mutated).toEqual(reference(mutated));
      }
    }
  });

  it("refuses non-canonical spellings, padding, the standard alphabet and length 4k+1", () => {
    expect(fromBase64Url("QQ")).toEqual(new Uint8Array([0x41]));
    expect(fromBase64Url("QR")).toBeUndefined(); // spare bits set
    expect(fromBase64Url("QUE")).toEqual(new Uint8Array([0x41, 0x41]));
    expect(fromBase64Url("QUF")).toBeUndefined();
    expect(fromBase64Url("QQ==")).toBeUndefined();
    expect(fromBase64Url("+/8")).toBeUndefined();
    expect(fromBase64Url("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(fromBase64Url("QUFBQ")).toBeUndefined();
  });
});
