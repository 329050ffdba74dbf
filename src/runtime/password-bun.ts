/**
 * The `PasswordHasher` on Bun (docs/spec/operations.md §2.5: the runtime's native implementation where it
 * exists). All native work is asynchronous and runs off the event loop on Bun's own threads.
 *
 * | operation          | implementation                                                      |
 * |--------------------|---------------------------------------------------------------------|
 * | argon2id verify    | `Bun.password.verify` (accepts any standard PHC string)             |
 * | argon2id hash      | `node:crypto` `argon2` (native in Bun), formatted here              |
 * | bcrypt hash/verify | `Bun.password` (`$2b$`; input already limited to 72 bytes)          |
 * | scrypt hash/verify | `node:crypto` `scrypt` (native in Bun), constant-time comparison    |
 *
 * Why argon2id hashing does not use `Bun.password.hash`: Bun 1.4 writes a 32-byte salt and has no
 * parallelism option (always `p=1`), so it cannot produce the stored form of §2.5 (16-byte salt,
 * configured `p`); a policy with `p > 1` would even be "weaker than policy" on every sign-in. Bun's
 * `node:crypto.argon2` takes salt, `p` and tag length, so the PHC string is the same as the portable
 * engine writes. Hashes that Bun.password wrote (32-byte salt) still verify everywhere.
 * Bun.password has no scrypt; `node:crypto.scrypt` is native, off-thread and, unlike the worker
 * pool, works inside a `bun build --compile` binary. Where either `node:crypto` function is missing,
 * that scheme falls back to the portable engine in the worker pool (password-pool.ts).
 */
import * as nodeCrypto from "node:crypto";
import { timingSafeEqualBytes } from "../crypto/compare.ts";
import {
  type ClosablePasswordHasher,
  createPasswordHasher,
  formatArgon2id,
  formatScrypt,
  HASH_BYTES,
  type PasswordEngine,
  type PasswordHashPolicy,
  randomSalt,
} from "../crypto/password.ts";
import {
  createPasswordWorkerPool,
  type PasswordPoolOptions,
  type PasswordWorkerPool,
} from "./password-pool.ts";

type Argon2 = (
  algorithm: "argon2id",
  parameters: {
    message: Uint8Array;
    nonce: Uint8Array;
    parallelism: number;
    tagLength: number;
    memory: number;
    passes: number;
  },
  callback: (err: Error | null, derivedKey: Uint8Array) => void,
) => void;

type Scrypt = (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
  callback: (err: Error | null, derivedKey: Uint8Array) => void,
) => void;

const nativeArgon2 = (nodeCrypto as { argon2?: Argon2 }).argon2;
const nativeScrypt = (nodeCrypto as { scrypt?: Scrypt }).scrypt;

function argon2idNative(
  argon2: Argon2,
  password: Uint8Array,
  salt: Uint8Array,
  params: { m: number; t: number; p: number },
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    argon2(
      "argon2id",
      {
        message: password,
        nonce: salt,
        parallelism: params.p,
        tagLength: HASH_BYTES,
        memory: params.m,
        passes: params.t,
      },
      (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))),
    );
  });
}

function scryptNative(
  scrypt: Scrypt,
  password: Uint8Array,
  salt: Uint8Array,
  params: { ln: number; r: number; p: number },
  length: number,
): Promise<Uint8Array> {
  const N = 2 ** params.ln;
  // node:crypto refuses work above `maxmem` (default 32 MiB); the need is 128·N·r plus 128·r·p.
  const maxmem = 128 * params.r * (N + params.p) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}

export interface BunPasswordHasherOptions extends PasswordPoolOptions {
  /** Test hook: pretend `node:crypto.argon2` and `node:crypto.scrypt` are missing (worker pool). */
  withoutNodeCrypto?: boolean;
}

export function createBunPasswordHasher(
  policy: PasswordHashPolicy,
  options: BunPasswordHasherOptions = {},
): ClosablePasswordHasher {
  // The pool only starts when a fallback needs it.
  let pool: PasswordWorkerPool | undefined;
  const portable = () => {
    pool ??= createPasswordWorkerPool(options);
    return pool.engine;
  };
  const argon2 = options.withoutNodeCrypto ? undefined : nativeArgon2;
  const scrypt = options.withoutNodeCrypto ? undefined : nativeScrypt;

  const engine: PasswordEngine = {
    async hash(password, p) {
      switch (p.scheme) {
        case "argon2id": {
          if (!argon2) return portable().hash(password, p);
          const salt = randomSalt();
          try {
            return formatArgon2id(p.argon2id, salt, await argon2idNative(argon2, password, salt, p.argon2id));
          } finally {
            password.fill(0);
          }
        }
        case "bcrypt":
          try {
            return await Bun.password.hash(password, { algorithm: "bcrypt", cost: p.bcryptCost });
          } finally {
            password.fill(0);
          }
        case "scrypt": {
          if (!scrypt) return portable().hash(password, p);
          const salt = randomSalt();
          try {
            return formatScrypt(
              p.scrypt,
              salt,
              await scryptNative(scrypt, password, salt, p.scrypt, HASH_BYTES),
            );
          } finally {
            password.fill(0);
          }
        }
      }
    },
    async verify(password, stored) {
      if (stored.scheme === "scrypt") {
        if (!scrypt) return portable().verify(password, stored);
        try {
          const key = await scryptNative(scrypt, password, stored.salt, stored, stored.hash.length);
          return timingSafeEqualBytes(key, stored.hash);
        } finally {
          password.fill(0);
        }
      }
      try {
        // `$2a$` and `$2y$` compute the same as `$2b$` for input of at most 72 bytes.
        const encoded = stored.scheme === "bcrypt" ? `$2b$${stored.encoded.slice(4)}` : stored.encoded;
        return await Bun.password.verify(password, encoded, stored.scheme);
      } finally {
        password.fill(0);
      }
    },
  };

  return {
    ...createPasswordHasher(policy, engine),
    warmUp: async () => {
      // Bun.password and node:crypto need no warm-up; the pool does when a fallback is in use.
      if ((policy.scheme === "scrypt" && !scrypt) || (policy.scheme === "argon2id" && !argon2)) {
        portable();
        await pool?.warmUp();
      }
    },
    close: async () => {
      await pool?.close();
    },
  };
}
