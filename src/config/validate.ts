/**
 * Startup refusals that need more than the schema (docs/spec/operations.md §4): secrets, signing keys,
 * issuer, storage, HTTP, accounts, audit and the value-level SAML rules. Each area is one small
 * function returning problems; `validateConfig` runs them all, so one start reports every refusal.
 *
 * SAML key and certificate *files* (unreadable, mismatched, expired, too small) are checked by the
 * hook `LoadConfigOptions.validateSamlKeyFiles` (load.ts), which the SAML module provides.
 */
import { exportJWK, importPKCS8, importSPKI } from "jose";
import { fromBase64Url } from "../bytes.ts";
import { bitLength } from "../crypto/der.ts";
import type { AccessTokenAlg } from "../crypto/jws.ts";
import { pkcs1ToPkcs8, toPem } from "../crypto/pem.ts";
import { keyAlgorithm, keyAlgorithmOid, OID } from "../crypto/x509.ts";
import { parseCidr, parseIp } from "../net/ip.ts";
import { type Config, ISSUER_PLACEHOLDER } from "./schema.ts";

/** One refusal: `key` is the dotted key path (`saml.sp.acsURL`, `jwksKeys[1].kid`). */
export interface ConfigProblem {
  key: string;
  problem: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `config: ${p.key}: ${p.problem}`;
}

/**
 * A refused configuration. `message` is one `config: <key path>: <problem>` line per problem; the
 * runtime prints it and exits with code 2 (docs/spec/operations.md §1).
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Key path of the first problem. */
  readonly key: string;
  readonly problems: readonly ConfigProblem[];
  readonly exitCode = 2;
  /** Absolute path of the configuration file that was refused, when one was read. */
  file?: string;

  constructor(key: string, problem: string, more: readonly ConfigProblem[] = []) {
    const problems = [{ key, problem }, ...more];
    super(problems.map(formatProblem).join("\n"));
    this.key = key;
    this.problems = problems;
  }

  static fromProblems(problems: readonly ConfigProblem[]): ConfigError {
    const [first, ...rest] = problems;
    if (!first) return new ConfigError("(root)", "invalid configuration");
    return new ConfigError(first.key, first.problem, rest);
  }
}

export interface ValidationContext {
  /** The configuration comes from the development quick-start (docs/spec/operations.md §3). */
  devQuickStart: boolean;
}

export interface ValidationResult {
  /** The configuration with `issuerBaseUrl` normalised, `${issuerBaseUrl}` resolved, origins lower-cased. */
  config: Config;
  problems: ConfigProblem[];
  warnings: string[];
}

/** Runs every check of docs/spec/operations.md §4 that needs no network and no SAML key files. */
export async function validateConfig(input: Config, ctx: ValidationContext): Promise<ValidationResult> {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];

  const issuer = checkIssuer(input.issuerBaseUrl, input.devMode);
  if ("problem" in issuer) problems.push({ key: "issuerBaseUrl", problem: issuer.problem });
  const issuerValue = "value" in issuer ? issuer.value : "";
  let config = resolveIssuerPlaceholder({ ...input, issuerBaseUrl: issuerValue }, issuerValue);

  problems.push(...checkSecrets(config, warnings));
  problems.push(...(await checkSigningKeys(config)));
  problems.push(...checkStorage(config, warnings));
  problems.push(...checkTokenLifetimes(config));
  problems.push(...checkAccounts(config));
  problems.push(...checkAudit(config));

  const http = checkHttp(config);
  problems.push(...http.problems);
  config = { ...config, http: { ...config.http, allowedOrigins: http.allowedOrigins } };

  if (config.saml.enabled && "value" in issuer) {
    const saml = checkSaml(config, warnings);
    problems.push(...saml.problems);
    config = {
      ...config,
      saml: {
        ...config.saml,
        acs: { ...config.saml.acs, allowedRedirectOrigins: saml.allowedRedirectOrigins },
      },
    };
  }

  if (config.devMode && !ctx.devQuickStart) {
    warnings.push(
      "config: devMode: development mode is on: loopback http URLs and insecure cookies are accepted; never use it in production",
    );
  }
  return { config, problems, warnings };
}

// ---------------------------------------------------------------------------------------------
// Issuer and URLs

/** Whitespace (including Unicode spaces) or a C0/DEL control character. */
function hasSpaceOrControl(s: string): boolean {
  if (/\s/.test(s)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** `localhost`, 127.0.0.0/8, `::1` (with or without brackets). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost") return true;
  const ip = parseIp(h);
  if (!ip) return false;
  if (ip.length === 4) return ip[0] === 127;
  return ip.every((b, i) => (i === 15 ? b === 1 : b === 0));
}

/**
 * An absolute `https` URL, or `http` with a loopback host in dev mode (docs/spec/operations.md §2.1);
 * no credentials, query or fragment. Returns the problem, or null.
 */
export function checkServiceUrl(raw: string, devMode: boolean): string | null {
  if (raw === "") return "required";
  if (hasSpaceOrControl(raw)) return "must not contain whitespace or control characters";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (raw.includes("?")) return "must not have a query string";
  if (raw.includes("#")) return "must not have a fragment";
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) {
    return devMode ? null : "http is accepted only for loopback hosts in devMode; use https";
  }
  return "must be an https URL";
}

function checkIssuer(raw: string, devMode: boolean): { value: string } | { problem: string } {
  if (raw === "") return { problem: "required (set issuerBaseUrl or ISSUER_BASE_URL)" };
  const problem = checkServiceUrl(raw, devMode);
  if (problem) return { problem };
  // Trailing "/" removed (docs/spec/operations.md §2.2) so that derived URLs never contain "//".
  return { value: raw.replace(/\/+$/, "") };
}

/** Replaces the reserved `${issuerBaseUrl}` token in every string of the configuration. */
function resolveIssuerPlaceholder<T>(value: T, issuer: string): T {
  if (typeof value === "string") return value.split(ISSUER_PLACEHOLDER).join(issuer) as T;
  if (Array.isArray(value)) return value.map((v) => resolveIssuerPlaceholder(v, issuer)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveIssuerPlaceholder(v, issuer);
    return out as T;
  }
  return value;
}

/**
 * Lower-cased exact origin `scheme://host[:port]` (a trailing `/` is tolerated), or null when the
 * input is not an origin of one of `schemes` (e.g. `["https:"]`).
 */
export function normalizeOrigin(raw: string, schemes: readonly string[]): string | null {
  if (raw.includes("*") || hasSpaceOrControl(raw) || raw.includes("?") || raw.includes("#")) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (!schemes.includes(url.protocol)) return null;
  if (url.username !== "" || url.password !== "" || url.pathname !== "/") return null;
  // "https://a.example/" parses like "https://a.example"; anything else after the authority is a path.
  const afterAuthority = raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
  if (afterAuthority !== "" && afterAuthority !== "/") return null;
  return url.origin;
}

/**
 * A safe redirect target (docs/spec/saml.md §6.4): a safe local path that stays on the issuer's origin,
 * or an absolute `https` URL whose origin is in `allowedOrigins` (already normalised); ≤ 2048 bytes.
 */
export function isSafeRedirectTarget(
  target: string,
  issuerBaseUrl: string,
  allowedOrigins: readonly string[],
): boolean {
  if (new TextEncoder().encode(target).length > 2048) return false;
  if (target.includes("\\") || hasSpaceOrControl(target)) return false;
  if (target.startsWith("/")) {
    const second = target[1];
    if (second === "/" || second === "\\" || second === "@") return false;
    try {
      return new URL(target, issuerBaseUrl).origin === new URL(issuerBaseUrl).origin;
    } catch {
      return false;
    }
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return false;
  }
  return url.protocol === "https:" && allowedOrigins.includes(url.origin);
}

// ---------------------------------------------------------------------------------------------
// Secrets and signing keys (docs/spec/tokens.md §1, §6.1)

/**
 * The strength floor of a shared secret (docs/adr/0015-secret-strength-floor.md): at least 32
 * symbols, at least 8 distinct symbols and at least 2.5 bits of Shannon entropy per symbol over its
 * own symbol frequencies. Symbols are code points for `apiKey` and UTF-8 bytes for `jwtSecret`
 * (HMAC keys are bytes). The floor refuses repeated characters, short cycles and mostly-one-character
 * strings, while `openssl rand -hex 16|32` and base64 secrets always pass (a 16-distinct floor would
 * refuse 24% of `openssl rand -hex 32` outputs).
 */
export const SECRET_MIN_SYMBOLS = 32;
export const SECRET_MIN_DISTINCT = 8;
export const SECRET_MIN_BITS_PER_SYMBOL = 2.5;

/** What is wrong with `symbols` as a secret, or `null` when it meets the floor. */
export function secretStrengthProblem(symbols: readonly (string | number)[], unit: string): string | null {
  const counts = new Map<string | number, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / symbols.length;
    bits -= p * Math.log2(p);
  }
  const measured = `has ${symbols.length} ${unit}, ${counts.size} distinct, ${bits.toFixed(2)} bits per ${unit.replace(/s$/, "")}`;
  if (
    symbols.length >= SECRET_MIN_SYMBOLS &&
    counts.size >= SECRET_MIN_DISTINCT &&
    bits >= SECRET_MIN_BITS_PER_SYMBOL
  ) {
    return null;
  }
  return (
    `too weak: expected at least ${SECRET_MIN_SYMBOLS} random ${unit} ` +
    `(at least ${SECRET_MIN_DISTINCT} distinct, ${SECRET_MIN_BITS_PER_SYMBOL} bits of entropy per ${unit.replace(/s$/, "")}; ` +
    `e.g. openssl rand -hex 32); ${measured}`
  );
}

function checkSecrets(c: Config, warnings: string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  // Outside dev mode a weak secret is a refusal (docs/spec/operations.md §4); in dev mode, a warning.
  const weak = (key: "jwtSecret" | "apiKey", problem: string) => {
    if (c.devMode) warnings.push(`config: ${key}: ${problem}`);
    else problems.push({ key, problem });
  };
  if (c.jwtSecret === "") {
    problems.push({ key: "jwtSecret", problem: "required (set jwtSecret, JWT_SECRET or JWT_SECRET_FILE)" });
  } else {
    const bytes = new TextEncoder().encode(c.jwtSecret);
    // docs/spec/tokens.md §1: shorter than 32 bytes is refused even in dev mode (HS256 needs the key length).
    if (bytes.length < 32) {
      problems.push({ key: "jwtSecret", problem: `must be at least 32 bytes (has ${bytes.length})` });
    } else {
      const problem = secretStrengthProblem([...bytes], "bytes");
      if (problem) weak("jwtSecret", problem);
    }
  }
  if (c.apiKey === "") {
    problems.push({ key: "apiKey", problem: "must not be empty (set apiKey, API_KEY or API_KEY_FILE)" });
  } else {
    const problem = secretStrengthProblem([...c.apiKey], "characters");
    if (problem) weak("apiKey", problem);
  }
  return problems;
}

async function checkSigningKeys(c: Config): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  if (c.jwksPrivateKey === "") {
    problems.push({
      key: "jwksPrivateKey",
      problem: "required (set jwksPrivateKey, JWKS_PRIVATE_KEY or JWKS_PRIVATE_KEY_FILE)",
    });
  } else {
    const checked = await checkAccessTokenKeyPem(c.jwksPrivateKey, "private");
    if ("problem" in checked) problems.push({ key: "jwksPrivateKey", problem: checked.problem });
    else if (checked.alg !== c.jwksAlgorithm) {
      // The key's type fixes the algorithm (docs/spec/tokens.md §1); jwksAlgorithm states it, so that
      // swapping a key file can never change, unannounced, what every resource server must verify.
      problems.push({
        key: "jwksPrivateKey",
        problem:
          `is ${KEY_NAMES[checked.alg]} key (${checked.alg}) but jwksAlgorithm is ${c.jwksAlgorithm}: ` +
          `set jwksAlgorithm: ${checked.alg} to sign with it (publish it in jwksKeys first, docs/spec/tokens.md §6.3)`,
      });
    }
  }

  const seen = new Set<string>([c.jwksKeyId]);
  for (const [i, entry] of c.jwksKeys.entries()) {
    const at = `jwksKeys[${i}]`;
    if (seen.has(entry.kid)) {
      const what = entry.kid === c.jwksKeyId ? "the active key's jwksKeyId" : "another entry";
      problems.push({ key: `${at}.kid`, problem: `duplicate kid "${entry.kid}" (same as ${what})` });
    }
    seen.add(entry.kid);
    const hasPublic = entry.publicKey !== undefined && entry.publicKey !== "";
    const hasPrivate = entry.privateKey !== undefined && entry.privateKey !== "";
    if (hasPublic === hasPrivate) {
      problems.push({ key: at, problem: "needs exactly one of publicKey or privateKey" });
      continue;
    }
    // hasPublic/hasPrivate say which one is set; an empty PEM would be refused by the check.
    const checked = hasPublic
      ? await checkAccessTokenKeyPem(entry.publicKey ?? "", "public")
      : await checkAccessTokenKeyPem(entry.privateKey ?? "", "private");
    if ("problem" in checked) {
      problems.push({ key: `${at}.${hasPublic ? "publicKey" : "privateKey"}`, problem: checked.problem });
    }
  }
  return problems;
}

const OID_NAMES: Record<string, string> = {
  [OID.rsaEncryption]: "RSA",
  "1.2.840.113549.1.1.10": "RSA-PSS",
  [OID.ecPublicKey]: "EC",
  "1.2.840.10040.4.1": "DSA",
  [OID.ed25519]: "Ed25519",
  "1.3.101.113": "Ed448",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
};
const KEY_NAMES: Record<AccessTokenAlg, string> = {
  RS256: "an RSA",
  ES256: "an EC P-256",
  EdDSA: "an Ed25519",
};

interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Exactly one PEM block with only whitespace around it; encrypted keys are refused. */
function parseSinglePem(text: string): PemBlock | string {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const [m, ...others] = text.matchAll(re);
  if (m === undefined) return "not a PEM block";
  if (others.length > 0) return "must contain exactly one PEM block";
  const [block, label, body, endLabel] = m;
  if (label === undefined || body === undefined) return "not a PEM block";
  if (text.replace(block, "").trim() !== "") return "unexpected text around the PEM block";
  if (endLabel !== label) return "PEM BEGIN and END labels differ";
  if (label === "ENCRYPTED PRIVATE KEY" || body.includes("Proc-Type:")) {
    return "encrypted private keys are not supported";
  }
  const b64 = body.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return "PEM body is not valid base64";
  const bin = atob(b64);
  const der = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
  return { label, der };
}

/**
 * Checks an RS256 key PEM: private keys PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"),
 * public keys SPKI ("PUBLIC KEY"); RSA with a modulus of at least 2048 bits. Returns the problem or null.
 */
export async function checkRsaKeyPem(pem: string, kind: "private" | "public"): Promise<string | null> {
  const block = parseSinglePem(pem);
  if (typeof block === "string") return `unparsable ${kind} key: ${block}`;
  const expected = kind === "private" ? ["PRIVATE KEY", "RSA PRIVATE KEY"] : ["PUBLIC KEY"];
  if (block.label === "EC PRIVATE KEY") return "not an RSA key (found EC)";
  if (!expected.includes(block.label)) {
    return `expected a PEM ${expected.map((l) => `"${l}"`).join(" or ")} block, found "${block.label}"`;
  }
  let der = block.der;
  if (block.label === "RSA PRIVATE KEY") {
    der = pkcs1ToPkcs8(der);
  } else {
    const oid = keyAlgorithmOid(der, kind === "private" ? "pkcs8" : "spki");
    if (oid === null) return `unparsable ${kind} key: malformed DER`;
    if (oid !== OID.rsaEncryption)
      return `not an RSA key (found ${OID_NAMES[oid] ?? `algorithm OID ${oid}`})`;
  }
  let n: string | undefined;
  try {
    const key =
      kind === "private"
        ? await importPKCS8(toPem(der, "PRIVATE KEY"), "RS256", { extractable: true })
        : await importSPKI(toPem(der, "PUBLIC KEY"), "RS256", { extractable: true });
    n = (await exportJWK(key)).n;
  } catch {
    return `unparsable ${kind} key`;
  }
  if (!n) return "not an RSA key";
  const bits = bitLength(fromBase64Url(n) ?? new Uint8Array(0));
  if (bits < 2048) return `RSA key too small (${bits} bits, at least 2048 required)`;
  return null;
}

/**
 * Checks an access-token key PEM (docs/spec/tokens.md §1, §6.1) and names the algorithm its type fixes:
 * RSA ≥ 2048 bits (PKCS#8, PKCS#1 or SPKI) → RS256, EC P-256 (PKCS#8 or SPKI) → ES256, Ed25519
 * (PKCS#8 or SPKI) → EdDSA. Anything else is a problem.
 */
export async function checkAccessTokenKeyPem(
  pem: string,
  kind: "private" | "public",
): Promise<{ alg: AccessTokenAlg } | { problem: string }> {
  const block = parseSinglePem(pem);
  if (typeof block === "string") return { problem: `unparsable ${kind} key: ${block}` };
  if (block.label === "EC PRIVATE KEY") {
    return {
      problem: 'EC key in SEC1 form ("EC PRIVATE KEY"): convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)',
    };
  }
  const oids =
    block.label === "RSA PRIVATE KEY"
      ? { oid: OID.rsaEncryption, parameters: null }
      : keyAlgorithm(block.der, kind === "private" ? "pkcs8" : "spki");
  if (oids === null || oids.oid === OID.rsaEncryption) {
    const problem = await checkRsaKeyPem(pem, kind);
    return problem ? { problem } : { alg: "RS256" };
  }
  const expected = kind === "private" ? "PRIVATE KEY" : "PUBLIC KEY";
  if (block.label !== expected)
    return { problem: `expected a PEM "${expected}" block, found "${block.label}"` };
  let alg: AccessTokenAlg;
  if (oids.oid === OID.ecPublicKey) {
    if (oids.parameters !== OID.p256)
      return { problem: "EC key on a curve other than P-256 (ES256 needs P-256)" };
    alg = "ES256";
  } else if (oids.oid === OID.ed25519) {
    alg = "EdDSA";
  } else {
    return {
      problem: `not an RSA, EC P-256 or Ed25519 key (found ${OID_NAMES[oids.oid] ?? `algorithm OID ${oids.oid}`})`,
    };
  }
  try {
    if (kind === "private") await importPKCS8(pem.trim(), alg);
    else await importSPKI(pem.trim(), alg);
  } catch {
    return { problem: `unparsable ${kind} key` };
  }
  return { alg };
}

// ---------------------------------------------------------------------------------------------
// Storage (docs/spec/operations.md §2.3)

/** `host:port` or `[ipv6]:port` with a port 1-65535. */
function isHostPort(s: string): boolean {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(s);
  if (!m) return false;
  if (m[1] !== undefined && parseIp(m[1]) === null) return false;
  const port = Number(m[3]);
  return port >= 1 && port <= 65_535;
}

function checkStorage(c: Config, warnings: string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const selectors = [
    c.redisAddr !== "" ? "redisAddr" : null,
    c.redisUrl !== "" ? "redisUrl" : null,
    c.redisCluster.length > 0 ? "redisCluster" : null,
  ].filter((s): s is string => s !== null);
  const [, second] = selectors;
  if (second !== undefined) {
    problems.push({
      key: second,
      problem: `only one of redisAddr, redisUrl, redisCluster may be set (found ${selectors.join(", ")})`,
    });
  }
  if (c.redisAddr !== "" && !isHostPort(c.redisAddr)) {
    problems.push({ key: "redisAddr", problem: "must be host:port" });
  }
  if (c.redisUrl !== "") {
    let ok = false;
    try {
      const url = new URL(c.redisUrl);
      ok = (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
    } catch {
      ok = false;
    }
    if (!ok) problems.push({ key: "redisUrl", problem: "must be a redis:// or rediss:// URL" });
  }
  for (const [i, entry] of c.redisCluster.entries()) {
    if (entry.trim() === "") problems.push({ key: `redisCluster[${i}]`, problem: "empty cluster entry" });
    else if (!isHostPort(entry)) problems.push({ key: `redisCluster[${i}]`, problem: "must be host:port" });
  }
  if (c.redisCluster.length > 0 && c.redisDb !== 0) {
    warnings.push("config: redisDb: ignored with redisCluster (a cluster has only database 0)");
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Tokens, accounts, audit, HTTP

function checkTokenLifetimes(c: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (c.accessTokenTtlSeconds > c.maxAccessTokenTtlSeconds) {
    problems.push({
      key: "accessTokenTtlSeconds",
      problem: `must not exceed maxAccessTokenTtlSeconds (${c.maxAccessTokenTtlSeconds})`,
    });
  }
  // A family that ends before its first token could expire would make `ttlSeconds` a lie.
  const refresh = c.tokens.refresh;
  if (refresh.maxLifetimeSeconds < refresh.ttlSeconds) {
    problems.push({
      key: "tokens.refresh.maxLifetimeSeconds",
      problem: `must be at least tokens.refresh.ttlSeconds (${refresh.ttlSeconds})`,
    });
  }
  return problems;
}

// The sign-up tenant already exists, so the grammar of stored tenant ids applies (docs/spec/api.md §2.10).
const TENANT_ID = /^[A-Za-z0-9._-]{1,128}$/;

function checkAccounts(c: Config): ConfigProblem[] {
  const t = c.accounts.signUpTenant;
  if (t !== "" && !TENANT_ID.test(t)) {
    return [
      {
        key: "accounts.signUpTenant",
        problem: "must be a tenant id (1-128 characters of A-Z a-z 0-9 . _ -)",
      },
    ];
  }
  return [];
}

function checkAudit(c: Config): ConfigProblem[] {
  if (c.audit.sink === "file" && c.audit.filePath.trim() === "") {
    return [{ key: "audit.filePath", problem: 'required when audit.sink is "file"' }];
  }
  return [];
}

function checkHttp(c: Config): { problems: ConfigProblem[]; allowedOrigins: string[] } {
  const problems: ConfigProblem[] = [];
  const allowedOrigins: string[] = [];
  for (const [i, raw] of c.http.allowedOrigins.entries()) {
    const origin = normalizeOrigin(raw, ["http:", "https:"]);
    if (raw.trim() === "*") {
      problems.push({ key: `http.allowedOrigins[${i}]`, problem: '"*" is not allowed; list exact origins' });
    } else if (origin === null) {
      problems.push({
        key: `http.allowedOrigins[${i}]`,
        problem: "not an origin (expected scheme://host[:port])",
      });
    } else if (!allowedOrigins.includes(origin)) {
      allowedOrigins.push(origin);
    }
  }
  for (const [i, raw] of c.http.trustedProxies.entries()) {
    if (raw.trim() === "" || parseCidr(raw) === null) {
      problems.push({
        key: `http.trustedProxies[${i}]`,
        problem: "invalid CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)",
      });
    }
  }
  if (c.devMode && !isLoopbackHost(c.bindAddress)) {
    problems.push({ key: "bindAddress", problem: "must be a loopback address in devMode" });
  }
  if (c.metrics.port !== 0 && c.metrics.port === c.port) {
    problems.push({
      key: "metrics.port",
      problem: "must differ from port (0 serves /metrics on the main port)",
    });
  }
  return { problems, allowedOrigins };
}

// ---------------------------------------------------------------------------------------------
// SAML value rules (docs/spec/saml.md §2, docs/spec/operations.md §4)

const COOKIE_DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function checkSaml(
  c: Config,
  warnings: string[],
): { problems: ConfigProblem[]; allowedRedirectOrigins: string[] } {
  const problems: ConfigProblem[] = [];
  const { sp, acs, idp } = c.saml;
  for (const key of ["entityID", "acsURL", "sloURL"] as const) {
    const problem = checkServiceUrl(sp[key], c.devMode);
    if (problem) problems.push({ key: `saml.sp.${key}`, problem });
  }

  const allowedRedirectOrigins: string[] = [];
  for (const [i, raw] of acs.allowedRedirectOrigins.entries()) {
    const origin = normalizeOrigin(raw, ["https:"]);
    if (origin === null) {
      problems.push({
        key: `saml.acs.allowedRedirectOrigins[${i}]`,
        problem: "must be an https origin (https://host[:port])",
      });
    } else if (!allowedRedirectOrigins.includes(origin)) {
      allowedRedirectOrigins.push(origin);
    }
  }
  for (const key of ["postLoginURL", "postLogoutURL"] as const) {
    if (!isSafeRedirectTarget(acs[key], c.issuerBaseUrl, allowedRedirectOrigins)) {
      problems.push({
        key: `saml.acs.${key}`,
        problem:
          "not a safe redirect target (a local path like /app, or an https URL of allowedRedirectOrigins)",
      });
    }
  }

  if (acs.cookieSameSite === "None" && !acs.cookieSecure) {
    problems.push({ key: "saml.acs.cookieSameSite", problem: "None requires cookieSecure: true" });
  }
  if (!acs.cookieSecure && !c.devMode) {
    problems.push({ key: "saml.acs.cookieSecure", problem: "false is accepted only in devMode" });
  }
  if (acs.cookieDomain !== "" && !COOKIE_DOMAIN.test(acs.cookieDomain)) {
    problems.push({
      key: "saml.acs.cookieDomain",
      problem: "must be a domain name (no scheme, port or path)",
    });
  }
  // RFC 6265bis §4.1.3: cookie name prefixes.
  if (acs.cookieName.startsWith("__Host-") && acs.cookieDomain !== "") {
    problems.push({ key: "saml.acs.cookieDomain", problem: "must be empty with a __Host- cookie name" });
  }
  if (/^__(Host|Secure)-/.test(acs.cookieName) && !acs.cookieSecure) {
    problems.push({
      key: "saml.acs.cookieSecure",
      problem: "must be true with a __Host-/__Secure- cookie name",
    });
  }
  if (!acs.cookieHTTPOnly) {
    warnings.push("config: saml.acs.cookieHTTPOnly: false lets page scripts read the idToken cookie");
  }
  for (const [i, host] of idp.allowPrivateMetadataHosts.entries()) {
    if (host === "" || /[\s/]/.test(host)) {
      problems.push({ key: `saml.idp.allowPrivateMetadataHosts[${i}]`, problem: "must be a host name" });
    }
  }
  return { problems, allowedRedirectOrigins };
}
