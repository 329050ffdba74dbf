/**
 * Password hashing contract (docs/spec/operations.md §2.5, docs/spec/storage.md §2.1, docs/spec/api.md §2.10).
 *
 * This module is pure: it parses and formats the stored forms, decides "weaker than policy", and
 * builds a `PasswordHasher` on top of a `PasswordEngine` that does the expensive work. Engines:
 * the portable WASM one (`password-portable.ts`, in-process or in a worker pool from
 * `src/runtime/password-pool.ts`) and Bun's native one (`src/runtime/password-bun.ts`).
 * Passwords are handled as UTF-8 bytes (never normalised, never trimmed) and never logged.
 */
import { TiktiError } from "../errors.ts";
import { must } from "../must.ts";

/** `accounts.passwordHash` of the configuration (structurally the same type). */
export interface PasswordHashPolicy {
  scheme: "argon2id" | "bcrypt" | "scrypt";
  bcryptCost: number;
  scrypt: { ln: number; r: number; p: number };
  argon2id: { m: number; t: number; p: number };
}

export interface PasswordHasher {
  /** A new hash in the configured scheme: PHC string (argon2id, scrypt) or `$2b$` bcrypt. */
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `stored` (bcrypt `$2a$`/`$2b$`/`$2y$`, `$argon2id$`, `$scrypt$`).
   * An empty or unknown `stored` (e.g. `""` of SAML-only users) answers false after spending the
   * time of a dummy verify, so callers need not special-case it for timing. A mismatch costs the
   * same as `verifyDummy`, whatever the scheme of `stored` (within `failedCheckPolicies`).
   */
  verify(password: string, stored: string): Promise<boolean>;
  /** After a successful verify: true when `stored` is weaker than policy (docs/spec/operations.md §2.5). */
  needsRehash(stored: string): boolean;
  /**
   * Spends the time of a failed verify (every profile of `failedCheckPolicies`) and answers
   * false: used for unknown users.
   */
  verifyDummy(password: string): Promise<false>;
}

/** A hasher that owns threads or other resources. */
export interface ClosablePasswordHasher extends PasswordHasher {
  /**
   * Starts the threads and compiles the engines it will need, so the first sign-ins neither pay
   * for it nor stall the event loop while a worker boots (Deno compiles a worker's modules on the
   * calling thread). Call once at start-up, before serving.
   */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export type ParsedPasswordHash =
  | {
      scheme: "argon2id";
      encoded: string;
      m: number;
      t: number;
      p: number;
      salt: Uint8Array;
      hash: Uint8Array;
    }
  | {
      scheme: "scrypt";
      encoded: string;
      ln: number;
      r: number;
      p: number;
      salt: Uint8Array;
      hash: Uint8Array;
    }
  | {
      scheme: "bcrypt";
      encoded: string;
      variant: "2a" | "2b" | "2y";
      cost: number;
      /** 22 characters, bcrypt's base64 alphabet. */
      salt: string;
      /** 31 characters, bcrypt's base64 alphabet. */
      checksum: string;
    };

/**
 * What an engine does: the expensive key derivations. `password` is the UTF-8 encoding (already
 * truncated to 72 bytes for bcrypt verification); engines may overwrite it when done.
 */
export interface PasswordEngine {
  hash(password: Uint8Array, policy: PasswordHashPolicy): Promise<string>;
  verify(password: Uint8Array, stored: ParsedPasswordHash): Promise<boolean>;
}

/** bcrypt reads at most 72 bytes of the password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;
export const SALT_BYTES = 16;
export const HASH_BYTES = 32;

// Bounds a stored hash must respect before any work is spent on it: anything outside is not a
// hash Tikti (or Go Tikti) wrote, and huge values would turn a sign-in into a memory bomb. The
// upper bounds equal the configuration's maxima (src/config/schema.ts).
const ARGON2_MAX_M = 4_194_304;
const ARGON2_MAX_T = 64;
const ARGON2_MAX_P = 16;
const SCRYPT_MAX_LN = 22;
const SCRYPT_MAX_R = 64;
const SCRYPT_MAX_P = 16;

const B64_STD = /^[A-Za-z0-9+/]+$/;
const ARGON2ID_RE =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const SCRYPT_RE = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BCRYPT_RE = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

/** Parses a stored password hash; undefined for empty, unknown or out-of-bounds values. */
export function parsePasswordHash(stored: string): ParsedPasswordHash | undefined {
  if (stored.startsWith("$argon2id$")) {
    const m = ARGON2ID_RE.exec(stored);
    if (!m) return undefined;
    const [mem, t, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
    // The pattern always captures groups 4 and 5; "" would not decode and refuse the hash.
    const salt = decodePhcBase64(m[4] ?? "");
    const hash = decodePhcBase64(m[5] ?? "");
    if (!salt || !hash) return undefined;
    if (t < 1 || t > ARGON2_MAX_T || p < 1 || p > ARGON2_MAX_P || mem < 8 * p || mem > ARGON2_MAX_M) {
      return undefined;
    }
    if (salt.length < 8 || salt.length > 64 || hash.length < 4 || hash.length > 64) return undefined;
    return { scheme: "argon2id", encoded: stored, m: mem, t, p, salt, hash };
  }
  if (stored.startsWith("$scrypt$")) {
    const m = SCRYPT_RE.exec(stored);
    if (!m) return undefined;
    const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const salt = decodePhcBase64(m[4] ?? "");
    const hash = decodePhcBase64(m[5] ?? "");
    if (!salt || !hash) return undefined;
    if (ln < 1 || ln > SCRYPT_MAX_LN || r < 1 || r > SCRYPT_MAX_R || p < 1 || p > SCRYPT_MAX_P)
      return undefined;
    if (salt.length < 8 || salt.length > 64 || hash.length < 16 || hash.length > 64) return undefined;
    return { scheme: "scrypt", encoded: stored, ln, r, p, salt, hash };
  }
  const b = BCRYPT_RE.exec(stored);
  if (b) {
    const [, variant, costText, salt, checksum] = b;
    if (salt === undefined || checksum === undefined) return undefined;
    const cost = Number(costText);
    if (cost < 4 || cost > 31) return undefined;
    return {
      scheme: "bcrypt",
      encoded: stored,
      variant: variant as "2a" | "2b" | "2y",
      cost,
      salt,
      checksum,
    };
  }
  return undefined;
}

/**
 * "Weaker than policy" (docs/spec/operations.md §2.5): another scheme, or lower cost parameters (or a
 * shorter salt/hash than Tikti writes). Higher parameters are kept. Meant to be asked after a
 * successful verify; an empty value (SAML-only user) never needs one.
 */
export function passwordNeedsRehash(policy: PasswordHashPolicy, stored: string): boolean {
  if (stored === "") return false;
  const parsed = parsePasswordHash(stored);
  if (!parsed || parsed.scheme !== policy.scheme) return true;
  switch (parsed.scheme) {
    case "argon2id": {
      const want = policy.argon2id;
      return (
        parsed.m < want.m ||
        parsed.t < want.t ||
        parsed.p < want.p ||
        parsed.salt.length < SALT_BYTES ||
        parsed.hash.length < HASH_BYTES
      );
    }
    case "scrypt": {
      const want = policy.scrypt;
      return (
        parsed.ln < want.ln ||
        parsed.r < want.r ||
        parsed.p < want.p ||
        parsed.salt.length < SALT_BYTES ||
        parsed.hash.length < HASH_BYTES
      );
    }
    case "bcrypt":
      return parsed.cost < policy.bcryptCost;
  }
}

export function formatArgon2id(
  params: { m: number; t: number; p: number },
  salt: Uint8Array,
  hash: Uint8Array,
) {
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${encodePhcBase64(salt)}$${encodePhcBase64(hash)}`;
}

export function formatScrypt(
  params: { ln: number; r: number; p: number },
  salt: Uint8Array,
  hash: Uint8Array,
) {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${encodePhcBase64(salt)}$${encodePhcBase64(hash)}`;
}

/** PHC strings use standard base64 without padding. */
export function encodePhcBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const byte of bytes) bin += String.fromCharCode(byte);
  return btoa(bin).replace(/=+$/, "");
}

export function decodePhcBase64(text: string): Uint8Array | undefined {
  if (!B64_STD.test(text) || text.length % 4 === 1) return undefined;
  const bin = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // Canonical only: non-zero spare bits in the last character would give one hash several spellings.
  return encodePhcBase64(out) === text ? out : undefined;
}

// bcrypt's own base64: alphabet "./A-Za-z0-9", no padding (OpenBSD bcrypt.c).
const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The 16 salt bytes of a 22-character bcrypt salt (the last character carries 2 spare bits). */
export function decodeBcryptSalt(salt: string): Uint8Array {
  const out = new Uint8Array(16);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const ch of salt) {
    acc = (acc << 6) | BCRYPT_ALPHABET.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < out.length) out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const encoder = new TextEncoder();

/** Random bytes from the platform CSPRNG (Web Crypto). */
export function randomSalt(length = SALT_BYTES): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/**
 * Go Tikti's bcrypt cost (`bcrypt.DefaultCost`): the hashes of users who have not signed in since
 * a Go store was taken over. They stay until the user's next successful sign-in (rehash).
 */
export const GO_BCRYPT_COST = 10;

/** What a verification costs: the scheme and its cost parameters (salt and hash length aside). */
export function verifyCostProfile(hash: ParsedPasswordHash): string {
  switch (hash.scheme) {
    case "argon2id":
      return `argon2id:m=${hash.m},t=${hash.t},p=${hash.p}`;
    case "scrypt":
      return `scrypt:ln=${hash.ln},r=${hash.r},p=${hash.p}`;
    case "bcrypt":
      return `bcrypt:${hash.cost}`;
  }
}

/** The profile of the hashes `policy` writes (same format as `verifyCostProfile`). */
export function policyCostProfile(policy: PasswordHashPolicy): string {
  switch (policy.scheme) {
    case "argon2id":
      return `argon2id:m=${policy.argon2id.m},t=${policy.argon2id.t},p=${policy.argon2id.p}`;
    case "scrypt":
      return `scrypt:ln=${policy.scrypt.ln},r=${policy.scrypt.r},p=${policy.scrypt.p}`;
    case "bcrypt":
      return `bcrypt:${policy.bcryptCost}`;
  }
}

/**
 * The cost profiles every failed password check pays for, one verify each (docs/adr/0010): the
 * configured scheme and Go-era bcrypt. One entry when the policy is bcrypt at Go's cost.
 */
export function failedCheckPolicies(policy: PasswordHashPolicy): PasswordHashPolicy[] {
  const goEra: PasswordHashPolicy = { ...policy, scheme: "bcrypt", bcryptCost: GO_BCRYPT_COST };
  return policy.scheme === "bcrypt" && policy.bcryptCost === GO_BCRYPT_COST ? [policy] : [policy, goEra];
}

/**
 * The `PasswordHasher` behaviour shared by every engine: input rules, unknown hashes, bcrypt's
 * 72-byte limit, dummy verification and the rehash decision.
 *
 * Timing (issue 11 item 11, docs/adr/0010): a failed check costs the same whether the email is
 * unknown, the user's hash is current, or it is still a Go-era bcrypt hash. Every failure runs one
 * verify per profile of `failedCheckPolicies`: the user's own hash stands for its profile, dummy
 * hashes for the others (an unknown email verifies dummies only). A success returns at once — the
 * caller who knows the password learns nothing new from its timing.
 */
export function createPasswordHasher(policy: PasswordHashPolicy, engine: PasswordEngine): PasswordHasher {
  const dummies = failedCheckPolicies(policy).map((p) => {
    let dummy: Promise<ParsedPasswordHash> | undefined;
    const profile = policyCostProfile(p);
    const hash = (): Promise<ParsedPasswordHash> => {
      // A hash of a random password with these parameters: verifying against it costs what a
      // real verify of such a hash costs. Computed once, on first need (again if it failed).
      if (!dummy) {
        dummy = engine
          .hash(randomSalt(24), p)
          .then((encoded) => must(parsePasswordHash(encoded), "the dummy hash the engine wrote"));
        dummy.catch(() => {
          dummy = undefined;
        });
      }
      return dummy;
    };
    return { profile, hash };
  });

  /** Verifies `password` against the dummy of every profile except `paid` (already spent). */
  const spendDummies = async (password: string, paid?: string): Promise<false> => {
    // In sequence: parallel verifies would cost the slowest one, or the sum, depending on how
    // many workers happen to be free — the very difference this removes.
    for (const d of dummies) {
      if (d.profile === paid) continue;
      const target = await d.hash();
      const bytes = passwordBytes(password, target.scheme);
      await engine.verify(bytes.length === 0 ? randomSalt(8) : bytes, target);
    }
    return false;
  };

  return {
    async hash(password) {
      const bytes = encoder.encode(password);
      if (bytes.length === 0) throw new TiktiError("INVALID_ARGUMENT", { details: { password: "empty" } });
      if (policy.scheme === "bcrypt" && bytes.length > BCRYPT_MAX_PASSWORD_BYTES) {
        // docs/spec/api.md §2.10 refuses these before hashing; hashing a truncated password would be a trap.
        throw new TiktiError("INVALID_ARGUMENT", { details: { password: "longer than 72 bytes" } });
      }
      return engine.hash(bytes, policy);
    },
    async verify(password, stored) {
      const parsed = parsePasswordHash(stored);
      if (!parsed || password === "") return spendDummies(password);
      if (await engine.verify(passwordBytes(password, parsed.scheme), parsed)) return true;
      return spendDummies(password, verifyCostProfile(parsed));
    },
    needsRehash: (stored) => passwordNeedsRehash(policy, stored),
    verifyDummy: (password) => spendDummies(password),
  };
}

/**
 * bcrypt uses the first 72 bytes (OpenBSD semantics, which Go Tikti's hashes were made with); Bun's
 * `Bun.password` would instead pre-hash longer input with SHA-512, and hash-wasm refuses it, so the
 * truncation happens here, once, for every engine.
 */
function passwordBytes(password: string, scheme: ParsedPasswordHash["scheme"]): Uint8Array {
  const bytes = encoder.encode(password);
  return scheme === "bcrypt" && bytes.length > BCRYPT_MAX_PASSWORD_BYTES
    ? bytes.subarray(0, BCRYPT_MAX_PASSWORD_BYTES)
    : bytes;
}
