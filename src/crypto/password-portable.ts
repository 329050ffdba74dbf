/**
 * The portable password engine: hash-wasm (WebAssembly argon2id, bcrypt, scrypt), identical on Bun,
 * Deno and Node. In a server it runs inside the worker pool (src/runtime/password-pool.ts) so a hash
 * never blocks the event loop; in-process it serves unit tests and tools.
 *
 * Verification recomputes the derived key with the stored parameters and compares it in constant
 * time (compare.ts) rather than trusting a library's string comparison.
 */
import { argon2id, bcrypt, scrypt } from "hash-wasm";
import { timingSafeEqualBytes } from "./compare.ts";
import {
  createPasswordHasher,
  decodeBcryptSalt,
  formatArgon2id,
  formatScrypt,
  HASH_BYTES,
  type ParsedPasswordHash,
  type PasswordEngine,
  type PasswordHasher,
  type PasswordHashPolicy,
  randomSalt,
} from "./password.ts";

const ascii = new TextEncoder();

export async function argon2idRaw(
  password: Uint8Array,
  salt: Uint8Array,
  params: { m: number; t: number; p: number },
  length: number,
): Promise<Uint8Array> {
  return argon2id({
    password,
    salt,
    memorySize: params.m,
    iterations: params.t,
    parallelism: params.p,
    hashLength: length,
    outputType: "binary",
  });
}

export async function scryptRaw(
  password: Uint8Array,
  salt: Uint8Array,
  params: { ln: number; r: number; p: number },
  length: number,
): Promise<Uint8Array> {
  return scrypt({
    password,
    salt,
    costFactor: 2 ** params.ln,
    blockSize: params.r,
    parallelism: params.p,
    hashLength: length,
    outputType: "binary",
  });
}

/** bcrypt with a 16-byte salt; answers the `$2b$` form (hash-wasm writes `$2a$`, same algorithm). */
export async function bcryptEncoded(password: Uint8Array, salt: Uint8Array, cost: number): Promise<string> {
  const encoded = await bcrypt({ password, salt, costFactor: cost, outputType: "encoded" });
  return `$2b$${encoded.slice(4)}`;
}

export const portablePasswordEngine: PasswordEngine = {
  async hash(password, policy) {
    try {
      switch (policy.scheme) {
        case "argon2id": {
          const salt = randomSalt();
          return formatArgon2id(
            policy.argon2id,
            salt,
            await argon2idRaw(password, salt, policy.argon2id, HASH_BYTES),
          );
        }
        case "scrypt": {
          const salt = randomSalt();
          return formatScrypt(
            policy.scrypt,
            salt,
            await scryptRaw(password, salt, policy.scrypt, HASH_BYTES),
          );
        }
        case "bcrypt":
          return await bcryptEncoded(password, randomSalt(), policy.bcryptCost);
      }
    } finally {
      password.fill(0);
    }
  },
  async verify(password, stored) {
    try {
      return timingSafeEqualBytes(await derive(password, stored), expected(stored));
    } finally {
      password.fill(0);
    }
  },
};

async function derive(password: Uint8Array, stored: ParsedPasswordHash): Promise<Uint8Array> {
  switch (stored.scheme) {
    case "argon2id":
      return argon2idRaw(password, stored.salt, stored, stored.hash.length);
    case "scrypt":
      return scryptRaw(password, stored.salt, stored, stored.hash.length);
    case "bcrypt": {
      // Only the 31-character checksum is compared: the `$2a$`/`$2y$` prefixes and a salt whose
      // last character carries non-zero spare bits encode the same computation.
      const encoded = await bcryptEncoded(password, decodeBcryptSalt(stored.salt), stored.cost);
      return ascii.encode(encoded.slice(-31));
    }
  }
}

function expected(stored: ParsedPasswordHash): Uint8Array {
  return stored.scheme === "bcrypt" ? ascii.encode(stored.checksum) : stored.hash;
}

/** The portable engine in the calling thread: for unit tests and tools, not for a server. */
export function createInProcessPasswordHasher(policy: PasswordHashPolicy): PasswordHasher {
  return createPasswordHasher(policy, portablePasswordEngine);
}
