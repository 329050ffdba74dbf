/**
 * Client secrets (spec/api.md §10.1, storage.md §2.1): 32 random bytes, base64url without padding
 * (43 characters), shown once; only a bcrypt hash of cost 10 is stored, for Go Tikti compatibility
 * whatever `accounts.passwordHash` selects for user passwords.
 *
 * Creating a client is a rare admin call, so the hash runs in-process with the portable engine
 * (hash-wasm, identical on Bun, Deno and Node) instead of the password worker pool, whose hasher
 * only speaks the configured password scheme.
 */

import { parsePasswordHash, randomSalt } from "./password.ts";
import { bcryptEncoded, portablePasswordEngine } from "./password-portable.ts";

export const CLIENT_SECRET_BYTES = 32;
/** storage.md §2.1: `secretHash` is bcrypt cost 10. */
export const CLIENT_SECRET_BCRYPT_COST = 10;

/** What the tenancy service needs; injectable so tests and tools can replace the slow part. */
export interface ClientSecrets {
  /** A new secret: 43 characters of base64url. */
  generate(): string;
  /** `$2b$10$...` of the secret's UTF-8 bytes. */
  hash(secret: string): Promise<string>;
  /** True when `secret` matches a stored bcrypt `secretHash`. */
  verify(secret: string, secretHash: string): Promise<boolean>;
}

function base64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function generateClientSecret(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(CLIENT_SECRET_BYTES)));
}

export function hashClientSecret(secret: string): Promise<string> {
  // 43 ASCII bytes: below bcrypt's 72-byte limit, so nothing is truncated.
  return bcryptEncoded(new TextEncoder().encode(secret), randomSalt(), CLIENT_SECRET_BCRYPT_COST);
}

export async function verifyClientSecret(secret: string, secretHash: string): Promise<boolean> {
  const parsed = parsePasswordHash(secretHash);
  if (parsed?.scheme !== "bcrypt" || secret === "") return false;
  return portablePasswordEngine.verify(new TextEncoder().encode(secret), parsed);
}

export const portableClientSecrets: ClientSecrets = {
  generate: generateClientSecret,
  hash: hashClientSecret,
  verify: verifyClientSecret,
};
