/**
 * `checkClientSecret` (docs/spec/oauth.md §2) with and without the runtime's synchronous SHA-256:
 * the same answers, and the synchronous digest is the one used when it is given.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkClientSecret, generateClientSecret, hashClientSecret } from "../../src/crypto/client-secret.ts";

describe("checkClientSecret", () => {
  it("answers match / mismatch alike with Web Crypto and with a synchronous SHA-256, which it then uses", async () => {
    const secret = generateClientSecret();
    const stored = await hashClientSecret(secret);
    let calls = 0;
    const sha256Sync = (data: Uint8Array) => {
      calls++;
      return new Uint8Array(createHash("sha256").update(data).digest());
    };
    expect(await checkClientSecret(secret, stored)).toBe("match");
    expect(await checkClientSecret(`${secret}x`, stored)).toBe("mismatch");
    expect(calls).toBe(0);
    expect(await checkClientSecret(secret, stored, sha256Sync)).toBe("match");
    expect(await checkClientSecret(`${secret}x`, stored, sha256Sync)).toBe("mismatch");
    expect(calls).toBe(2);
    // Empty secrets never match and hash nothing.
    expect(await checkClientSecret("", stored, sha256Sync)).toBe("mismatch");
    expect(calls).toBe(2);
  });
});
