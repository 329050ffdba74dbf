/**
 * SP key material (docs/spec/saml.md §2, §13; docs/spec/operations.md §4): the *current* signing pair, the staged
 * *next* pair and, when configured with their own files, a separate *encryption* pair.
 *
 * Files are read through an injected reader (src/runtime/saml-keys.ts on a server; the `ConfigIO`
 * of the loader for the startup refusals), so this module stays pure. A pair is a PEM RSA private
 * key (PKCS#8 or PKCS#1) and an X.509 certificate whose public key is the key's: both are checked
 * before a pair is used, and a reload that finds a file unreadable or invalid keeps the pair loaded
 * before (docs/spec/saml.md §13) and logs why.
 */

import type { Clock } from "../clock.ts";
import type { ConfigIO } from "../config/io.ts";
import type { Config } from "../config/schema.ts";
import type { ConfigProblem } from "../config/validate.ts";
import { toPkcs8Pem } from "../crypto/pem.ts";
import { CertificateParseError, parseCertificate, type X509Certificate } from "../crypto/x509.ts";
import type { Logger } from "../logger.ts";
import { isoSeconds, pemBlocks, toBase64 } from "./certs.ts";

export type SpKeySlot = "current" | "next" | "encryption";

export interface SpKeyPair {
  slot: SpKeySlot;
  cert: X509Certificate;
  /** Base64 DER of the certificate, as published in `ds:X509Certificate`. */
  certBase64: string;
  /** Lowercase hex SHA-256 of the certificate DER: the identity of the pair (docs/spec/saml.md §13). */
  sha256: string;
  notAfter: number;
  /** RSA modulus size. */
  bits: number;
  /** RSASSA-PKCS1-v1_5 with SHA-256 (non-extractable), for Redirect-binding and XML signatures. */
  signingKey: CryptoKey;
  /** PKCS#8 PEM of the private key, for libraries that take PEM (e.g. xml-crypto). Never log it. */
  privateKeyPem: string;
  /** RSASSA-PKCS1-v1_5 signature over `data` with SHA-256 (default) or SHA-512. */
  sign(data: Uint8Array, hash?: "SHA-256" | "SHA-512"): Promise<Uint8Array>;
  /** RSA-OAEP private key for unwrapping content keys, imported once per OAEP digest. */
  oaepKey(hash: "SHA-1" | "SHA-256"): Promise<CryptoKey>;
}

/** Where a pair's files are configured. */
export interface SpKeyPaths {
  keyPath: string;
  certPath: string;
  keyKey: string;
  certKey: string;
}

export function spKeyPaths(config: Config, slot: SpKeySlot): SpKeyPaths {
  const sp = config.saml.sp;
  switch (slot) {
    case "current":
      return {
        keyPath: sp.signingKeyPath,
        certPath: sp.signingCertPath,
        keyKey: "saml.sp.signingKeyPath",
        certKey: "saml.sp.signingCertPath",
      };
    case "next":
      return {
        keyPath: sp.nextSigningKeyPath,
        certPath: sp.nextSigningCertPath,
        keyKey: "saml.sp.nextSigningKeyPath",
        certKey: "saml.sp.nextSigningCertPath",
      };
    case "encryption":
      return {
        keyPath: sp.encryptionKeyPath,
        certPath: sp.encryptionCertPath,
        keyKey: "saml.sp.encryptionKeyPath",
        certKey: "saml.sp.encryptionCertPath",
      };
  }
}

/** True when the encryption role has files of its own (otherwise it follows the signing pairs). */
export function hasSeparateEncryptionPair(config: Config): boolean {
  const sp = config.saml.sp;
  return sp.encryptionKeyPath !== sp.signingKeyPath || sp.encryptionCertPath !== sp.signingCertPath;
}

export type PairResult = { ok: true; pair: SpKeyPair } | { ok: false; file: "key" | "cert"; problem: string };

function b64urlToBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  let start = 0;
  while (start < out.length - 1 && out[start] === 0) start++;
  return out.subarray(start);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Builds a pair from the PEM texts of its files: exactly one RSA private key (PKCS#8 or PKCS#1,
 * unencrypted), an X.509 certificate (the first block of the file) with the same public key, a
 * modulus of at least `minBits`, and a certificate not expired at `now`.
 */
export async function loadSpKeyPair(
  slot: SpKeySlot,
  keyPem: string,
  certPem: string,
  options: { minBits: number; now: number },
): Promise<PairResult> {
  const bad = (file: "key" | "cert", problem: string): PairResult => ({ ok: false, file, problem });

  let keyBlocks: ReturnType<typeof pemBlocks>;
  try {
    keyBlocks = pemBlocks(keyPem);
  } catch {
    return bad("key", "not a PEM RSA private key");
  }
  const keyBlock = keyBlocks.find((b) => b.label.endsWith("PRIVATE KEY"));
  if (!keyBlock) return bad("key", "not a PEM RSA private key");
  if (keyBlock.label === "ENCRYPTED PRIVATE KEY")
    return bad("key", "encrypted private keys are not supported");
  if (keyBlock.label !== "PRIVATE KEY" && keyBlock.label !== "RSA PRIVATE KEY") {
    return bad("key", `not an RSA private key (found "${keyBlock.label}")`);
  }
  const privateKeyPem = toPkcs8Pem(
    keyBlock.label === "RSA PRIVATE KEY"
      ? `-----BEGIN RSA PRIVATE KEY-----\n${toBase64(keyBlock.der)}\n-----END RSA PRIVATE KEY-----`
      : `-----BEGIN PRIVATE KEY-----\n${toBase64(keyBlock.der)}\n-----END PRIVATE KEY-----`,
  );
  const [pkcs8Block] = pemBlocks(privateKeyPem);
  if (pkcs8Block === undefined) return bad("key", "not a PEM RSA private key");
  const pkcs8 = pkcs8Block.der;
  const rsaSha256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  let jwk: JsonWebKey;
  try {
    const probe = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, rsaSha256, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", probe);
  } catch {
    return bad("key", "not a PEM RSA private key");
  }
  if (!jwk.n || !jwk.e) return bad("key", "not an RSA private key");

  let cert: X509Certificate;
  try {
    const block = pemBlocks(certPem).find((b) => b.label === "CERTIFICATE");
    if (!block) return bad("cert", "no PEM CERTIFICATE block");
    cert = await parseCertificate(block.der);
  } catch (e) {
    return bad(
      "cert",
      e instanceof CertificateParseError ? "not a parsable X.509 certificate" : "unreadable",
    );
  }
  if (cert.publicKey.kind !== "rsa") return bad("cert", "certificate key is not RSA");
  if (
    !sameBytes(cert.publicKey.modulus, b64urlToBytes(jwk.n)) ||
    !sameBytes(cert.publicKey.exponent, b64urlToBytes(jwk.e))
  ) {
    return bad("cert", "certificate does not match the private key");
  }
  const bits = cert.publicKey.bits;
  if (bits < options.minBits) {
    return bad("key", `RSA key has ${bits} bits; saml.sp.keyBits requires at least ${options.minBits}`);
  }
  if (cert.notAfter <= options.now) return bad("cert", `certificate expired at ${isoSeconds(cert.notAfter)}`);

  const signingKey = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, rsaSha256, false, [
    "sign",
  ]);
  const sha512Key = crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as BufferSource,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
    false,
    ["sign"],
  );
  const oaep = new Map<string, Promise<CryptoKey>>();
  return {
    ok: true,
    pair: {
      slot,
      cert,
      certBase64: toBase64(cert.der),
      sha256: cert.sha256,
      notAfter: cert.notAfter,
      bits,
      signingKey,
      privateKeyPem,
      async sign(data, hash = "SHA-256") {
        const key = hash === "SHA-256" ? signingKey : await sha512Key;
        return new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data as BufferSource));
      },
      oaepKey(hash) {
        let key = oaep.get(hash);
        if (!key) {
          key = crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, { name: "RSA-OAEP", hash }, false, [
            "decrypt",
            "unwrapKey",
          ]);
          oaep.set(hash, key);
        }
        return key;
      },
    },
  };
}

// ------------------------------------------------------------------------ startup refusals (hook)

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "unreadable";
}

async function checkPairFiles(
  io: ConfigIO,
  config: Config,
  slot: SpKeySlot,
  now: number,
): Promise<ConfigProblem[]> {
  const paths = spKeyPaths(config, slot);
  const texts: Partial<Record<"key" | "cert", string>> = {};
  const problems: ConfigProblem[] = [];
  for (const file of ["key", "cert"] as const) {
    const path = file === "key" ? paths.keyPath : paths.certPath;
    const key = file === "key" ? paths.keyKey : paths.certKey;
    try {
      texts[file] = await io.readFile(io.resolvePath(path));
    } catch (e) {
      problems.push({ key, problem: `cannot read ${path} (${errorCode(e)})` });
    }
  }
  if (texts.key === undefined || texts.cert === undefined) return problems;
  const result = await loadSpKeyPair(slot, texts.key, texts.cert, { minBits: config.saml.sp.keyBits, now });
  if (result.ok) return [];
  return [
    {
      key: result.file === "key" ? paths.keyKey : paths.certKey,
      problem: `${result.file === "key" ? paths.keyPath : paths.certPath}: ${result.problem}`,
    },
  ];
}

/**
 * `LoadConfigOptions.validateSamlKeyFiles` (docs/spec/operations.md §4): the current pair, the separate
 * encryption pair when configured, and the next pair when its files exist (both absent = no next
 * pair; one without the other is refused) must be readable, matching, unexpired RSA pairs of at
 * least `saml.sp.keyBits`.
 */
export async function validateSamlKeyFiles(
  config: Config,
  io: ConfigIO,
  now: number = Date.now(),
): Promise<ConfigProblem[]> {
  const problems = await checkPairFiles(io, config, "current", now);
  if (hasSeparateEncryptionPair(config))
    problems.push(...(await checkPairFiles(io, config, "encryption", now)));
  const next = spKeyPaths(config, "next");
  const keyExists = await io.exists(io.resolvePath(next.keyPath));
  const certExists = await io.exists(io.resolvePath(next.certPath));
  if (keyExists && certExists) {
    problems.push(...(await checkPairFiles(io, config, "next", now)));
  } else if (keyExists !== certExists) {
    const [present, missing] = keyExists ? [next.keyKey, next.certKey] : [next.certKey, next.keyKey];
    problems.push({
      key: missing,
      problem: `file not found while ${present} exists (install both or neither)`,
    });
  }
  return problems;
}

// --------------------------------------------------------------------------------- live key store

/** Reads a key file: its text, `null` when it does not exist; throws when it cannot be read. */
export type KeyFileReader = (path: string) => Promise<string | null>;

export interface SpKeyReloadReport {
  /** Slots whose pair changed (loaded, replaced or removed). */
  changed: SpKeySlot[];
  /** One line per slot that kept its previous pair because of a problem. */
  errors: string[];
}

export interface SpKeyStore {
  current(): SpKeyPair | null;
  next(): SpKeyPair | null;
  /** The separate encryption pair, or null when encryption shares the signing files. */
  encryption(): SpKeyPair | null;
  readonly separateEncryption: boolean;
  /** Re-reads every file (timer and SIGHUP); never throws. */
  reload(): Promise<SpKeyReloadReport>;
}

interface SlotState {
  keyText: string | null;
  certText: string | null;
  pair: SpKeyPair | null;
}

export function createSpKeyStore(deps: {
  config: Config;
  read: KeyFileReader;
  clock: Clock;
  logger: Logger;
}): SpKeyStore {
  const { config, read, clock } = deps;
  const logger = deps.logger.child({ component: "saml-keys" });
  const separateEncryption = hasSeparateEncryptionPair(config);
  const slots: SpKeySlot[] = separateEncryption ? ["current", "next", "encryption"] : ["current", "next"];
  const state = new Map<SpKeySlot, SlotState>(
    slots.map((s) => [s, { keyText: null, certText: null, pair: null }]),
  );
  let queue: Promise<unknown> = Promise.resolve();

  async function reloadSlot(slot: SpKeySlot, report: SpKeyReloadReport): Promise<void> {
    // Every slot starts with an empty state (above); a missing one is the same "nothing loaded".
    const s = state.get(slot) ?? { keyText: null, certText: null, pair: null };
    const paths = spKeyPaths(config, slot);
    let keyText: string | null;
    let certText: string | null;
    try {
      [keyText, certText] = await Promise.all([read(paths.keyPath), read(paths.certPath)]);
    } catch (error) {
      report.errors.push(`${slot}: key or certificate file unreadable`);
      logger.error("SP key files unreadable; keeping the pair loaded before", { slot, error });
      return;
    }
    if (keyText === null && certText === null && slot === "next") {
      // No next pair (docs/spec/saml.md §2): after promotion the operator removes the next files.
      if (s.pair) {
        logger.info("next SP key pair removed", { sha256: s.pair.sha256 });
        report.changed.push(slot);
      }
      state.set(slot, { keyText: null, certText: null, pair: null });
      return;
    }
    if (keyText === null || certText === null) {
      report.errors.push(`${slot}: key or certificate file missing`);
      logger.error("SP key or certificate file missing; keeping the pair loaded before", {
        slot,
        missing: keyText === null ? paths.keyPath : paths.certPath,
      });
      return;
    }
    if (keyText === s.keyText && certText === s.certText) return;
    const result = await loadSpKeyPair(slot, keyText, certText, {
      minBits: config.saml.sp.keyBits,
      now: clock.now(),
    });
    if (!result.ok) {
      report.errors.push(`${slot}: ${result.problem}`);
      logger.error("SP key pair invalid; keeping the pair loaded before", {
        slot,
        file: result.file === "key" ? paths.keyPath : paths.certPath,
        problem: result.problem,
      });
      return;
    }
    const before = s.pair?.sha256;
    state.set(slot, { keyText, certText, pair: result.pair });
    if (before !== result.pair.sha256) {
      report.changed.push(slot);
      logger.info("SP key pair loaded", {
        slot,
        sha256: result.pair.sha256,
        notAfter: isoSeconds(result.pair.notAfter),
      });
      const days = (result.pair.notAfter - clock.now()) / 86_400_000;
      if (days < 30) {
        logger.warn("SP certificate expires within 30 days", {
          slot,
          notAfter: isoSeconds(result.pair.notAfter),
        });
      }
    }
  }

  async function reloadAll(): Promise<SpKeyReloadReport> {
    const report: SpKeyReloadReport = { changed: [], errors: [] };
    for (const slot of slots) {
      try {
        await reloadSlot(slot, report);
      } catch (error) {
        report.errors.push(`${slot}: reload failed`);
        logger.error("SP key reload failed; keeping the pair loaded before", { slot, error });
      }
    }
    return report;
  }

  return {
    current: () => state.get("current")?.pair ?? null,
    next: () => state.get("next")?.pair ?? null,
    encryption: () => state.get("encryption")?.pair ?? null,
    separateEncryption,
    reload() {
      // Reloads run one after the other: a SIGHUP during a timer reload re-reads after it.
      const run = queue.then(reloadAll);
      queue = run.catch(() => {});
      return run;
    },
  };
}
