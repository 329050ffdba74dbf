/**
 * HMAC-SHA256 for idTokens on `node:crypto` (Bun and Node): the same MAC as Web Crypto's, computed
 * synchronously with the secret imported once.
 *
 * Why (docs/benchmarks.md): on Bun `crypto.subtle` HMAC runs on the thread pool `Bun.password`
 * uses, so during a sign-in burst one idToken check waited ~200 ms behind queued password hashes;
 * a synchronous HMAC costs ~0.15 ms and never queues. Deno keeps Web Crypto.
 */
import { createHash, createHmac, createSecretKey } from "node:crypto";
import type { Sha256Sync } from "../crypto/compare.ts";
import type { Hs256Mac } from "../crypto/jws.ts";

export function createNodeHs256Mac(secret: string): Hs256Mac {
  const key = createSecretKey(Buffer.from(secret, "utf8"));
  return (signingInput) => new Uint8Array(createHmac("sha256", key).update(signingInput).digest());
}

/** The MAC a runtime uses; `undefined` = Web Crypto. */
export function runtimeHs256Mac(runtime: "bun" | "node" | "deno", secret: string): Hs256Mac | undefined {
  return runtime === "deno" ? undefined : createNodeHs256Mac(secret);
}

/** SHA-256 for API-key comparison, synchronous (Bun and Node); `undefined` = Web Crypto. */
export function runtimeSha256(runtime: "bun" | "node" | "deno"): Sha256Sync | undefined {
  return runtime === "deno"
    ? undefined
    : (data) => new Uint8Array(createHash("sha256").update(data).digest());
}
