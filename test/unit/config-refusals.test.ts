// Startup refusals (docs/spec/operations.md §4) and accepted edge values; every refusal names its key.
import { beforeAll, describe, expect, test } from "vitest";
import type { Config } from "../../src/config/schema.ts";
import {
  checkAccessTokenKeyPem,
  checkRsaKeyPem,
  isSafeRedirectTarget,
  normalizeOrigin,
} from "../../src/config/validate.ts";
import { baseDoc, loadDoc, makeKeys, merge, refusal, type TestKeys } from "./config-support.ts";

let keys: TestKeys;
let base: Record<string, unknown>;
beforeAll(() => {
  keys = makeKeys();
  base = baseDoc(keys);
});

/** A dev-mode SAML document that passes (loopback http allowed). */
const samlDev = (extra: Record<string, unknown> = {}) =>
  merge(
    {
      devMode: true,
      issuerBaseUrl: "http://127.0.0.1:8080",
      saml: { enabled: true, acs: { cookieSecure: false } },
    },
    extra,
  );
const saml = (extra: Record<string, unknown> = {}) => merge({ saml: { enabled: true } }, extra);

type Case = [name: string, extra: () => Record<string, unknown>, message: string];

const refusals: Case[] = [
  // Values: zod types and ranges
  ["port above 65535", () => ({ port: 70_000 }), "config: port: must be at most 65535"],
  ["redisDb negative", () => ({ redisDb: -1 }), "config: redisDb: must not be negative"],
  [
    "idTokenTtlSeconds below 300",
    () => ({ idTokenTtlSeconds: 100 }),
    "config: idTokenTtlSeconds: must be at least 300",
  ],
  [
    "maxAccessTokenTtlSeconds above 604800",
    () => ({ maxAccessTokenTtlSeconds: 604_801 }),
    "config: maxAccessTokenTtlSeconds:",
  ],
  [
    "accessTokenTtlSeconds above the cap",
    () => ({ accessTokenTtlSeconds: 7200, maxAccessTokenTtlSeconds: 3600 }),
    "config: accessTokenTtlSeconds: must not exceed maxAccessTokenTtlSeconds",
  ],
  ["clockSkewSeconds above 300", () => ({ clockSkewSeconds: 301 }), "config: clockSkewSeconds:"],
  [
    "tokens.refresh.ttlSeconds below one hour",
    () => ({ tokens: { refresh: { ttlSeconds: 60 } } }),
    "config: tokens.refresh.ttlSeconds: must be at least 3600",
  ],
  [
    "a refresh family shorter than one refresh token",
    () => ({ tokens: { refresh: { ttlSeconds: 86_400, maxLifetimeSeconds: 7200 } } }),
    "config: tokens.refresh.maxLifetimeSeconds: must be at least tokens.refresh.ttlSeconds (86400)",
  ],
  [
    "tokens.refresh.enabled as a string",
    () => ({ tokens: { refresh: { enabled: "false" } } }),
    "config: tokens.refresh.enabled: expected a boolean",
  ],
  ["logging.level unknown", () => ({ logging: { level: "trace" } }), "config: logging.level: Invalid option"],
  [
    "http.maxHeaderBytes below 4096",
    () => ({ http: { maxHeaderBytes: 1024 } }),
    "config: http.maxHeaderBytes: must be at least 4096",
  ],
  [
    "a rate-limit bucket with limit 0",
    () => ({ rateLimits: { samlIp: { limit: 0 } } }),
    "config: rateLimits.samlIp.limit: must be at least 1",
  ],
  [
    "a string where a boolean belongs",
    () => ({ rateLimits: { enabled: "false" } }),
    "config: rateLimits.enabled: expected a boolean",
  ],
  [
    "a number where a boolean belongs",
    () => ({ admin: { requireAdminToken: 0 } }),
    "config: admin.requireAdminToken: expected a boolean",
  ],
  ["a non-integer", () => ({ port: 80.5 }), "config: port: expected an integer"],
  [
    "implicitRolePermissions with a bad scope",
    () => ({ authorization: { implicitRolePermissions: { R: ["has space"] } } }),
    "config: authorization.implicitRolePermissions.R[0]: must be a scope",
  ],
  [
    "defaultAudience with a space",
    () => ({ defaultAudience: "a b" }),
    "config: defaultAudience: must be a client id",
  ],
  ["jwksKeyId empty", () => ({ jwksKeyId: "" }), "config: jwksKeyId:"],
  // Secrets
  ["apiKey empty", () => ({ apiKey: "" }), "config: apiKey: must not be empty"],
  ["jwtSecret missing", () => ({ jwtSecret: "" }), "config: jwtSecret: required"],
  [
    "jwtSecret of 31 bytes",
    () => ({ jwtSecret: "x".repeat(31) }),
    "config: jwtSecret: must be at least 32 bytes (has 31)",
  ],
  // Weak secrets outside dev mode (docs/adr/0015-secret-strength-floor.md)
  [
    "apiKey of 31 random characters",
    () => ({ apiKey: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" }),
    "config: apiKey: too weak: expected at least 32 random characters (at least 8 distinct, 2.5 bits of entropy per character; e.g. openssl rand -hex 32); has 31 characters",
  ],
  [
    "apiKey of one repeated character",
    () => ({ apiKey: "k".repeat(40) }),
    "config: apiKey: too weak: expected at least 32 random characters (at least 8 distinct, 2.5 bits of entropy per character; e.g. openssl rand -hex 32); has 40 characters, 1 distinct, 0.00 bits per character",
  ],
  [
    "apiKey of a short cycle (7 distinct)",
    () => ({ apiKey: "changeme".repeat(5) }),
    "config: apiKey: too weak: expected at least 32 random characters (at least 8 distinct, 2.5 bits of entropy per character; e.g. openssl rand -hex 32); has 40 characters, 7 distinct",
  ],
  [
    "apiKey that is mostly one character",
    () => ({ apiKey: `${"a".repeat(40)}bcdefghij` }),
    "config: apiKey: too weak: expected at least 32 random characters (at least 8 distinct, 2.5 bits of entropy per character; e.g. openssl rand -hex 32); has 49 characters, 10 distinct, 1.27 bits per character",
  ],
  [
    "jwtSecret of one repeated character",
    () => ({ jwtSecret: "x".repeat(48) }),
    "config: jwtSecret: too weak: expected at least 32 random bytes (at least 8 distinct, 2.5 bits of entropy per byte; e.g. openssl rand -hex 32); has 48 bytes, 1 distinct, 0.00 bits per byte",
  ],
  [
    "jwtSecret of two alternating characters",
    () => ({ jwtSecret: "ab".repeat(32) }),
    "config: jwtSecret: too weak: expected at least 32 random bytes",
  ],
  // Signing keys
  ["jwksPrivateKey missing", () => ({ jwksPrivateKey: "" }), "config: jwksPrivateKey: required"],
  [
    "jwksPrivateKey not PEM",
    () => ({ jwksPrivateKey: "hello" }),
    "config: jwksPrivateKey: unparsable private key: not a PEM block",
  ],
  [
    "jwksPrivateKey garbage DER",
    () => ({ jwksPrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }),
    "config: jwksPrivateKey: unparsable private key",
  ],
  [
    "jwksPrivateKey garbage PKCS#1",
    () => ({ jwksPrivateKey: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n" }),
    "config: jwksPrivateKey: unparsable private key",
  ],
  [
    "jwksPrivateKey EC P-256 (PKCS#8) while jwksAlgorithm is RS256",
    () => ({ jwksPrivateKey: keys.ec.privateKey }),
    "config: jwksPrivateKey: is an EC P-256 key (ES256) but jwksAlgorithm is RS256: set jwksAlgorithm: ES256 to sign with it (publish it in jwksKeys first, docs/spec/tokens.md §6.3)",
  ],
  [
    "jwksPrivateKey EC (SEC1)",
    () => ({ jwksPrivateKey: keys.ecSec1.privateKey, jwksAlgorithm: "ES256" }),
    'config: jwksPrivateKey: EC key in SEC1 form ("EC PRIVATE KEY"): convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)',
  ],
  [
    "jwksPrivateKey Ed25519 while jwksAlgorithm is RS256",
    () => ({ jwksPrivateKey: keys.ed25519.privateKey }),
    "config: jwksPrivateKey: is an Ed25519 key (EdDSA) but jwksAlgorithm is RS256: set jwksAlgorithm: EdDSA",
  ],
  [
    "jwksPrivateKey RSA while jwksAlgorithm is ES256",
    () => ({ jwksAlgorithm: "ES256" }),
    "config: jwksPrivateKey: is an RSA key (RS256) but jwksAlgorithm is ES256: set jwksAlgorithm: RS256",
  ],
  [
    "jwksPrivateKey EC P-384",
    () => ({ jwksPrivateKey: keys.ecP384.privateKey, jwksAlgorithm: "ES256" }),
    "config: jwksPrivateKey: EC key on a curve other than P-256 (ES256 needs P-256)",
  ],
  ["jwksAlgorithm unknown", () => ({ jwksAlgorithm: "PS256" }), "config: jwksAlgorithm:"],
  [
    "jwksPrivateKey RSA-1024 (PKCS#8)",
    () => ({ jwksPrivateKey: keys.rsa1024.privateKey }),
    "config: jwksPrivateKey: RSA key too small (1024 bits, at least 2048 required)",
  ],
  [
    "jwksPrivateKey RSA-1024 (PKCS#1)",
    () => ({ jwksPrivateKey: keys.rsa1024Pkcs1.privateKey }),
    "config: jwksPrivateKey: RSA key too small (1024 bits",
  ],
  [
    "jwksPrivateKey is a public key",
    () => ({ jwksPrivateKey: keys.rsa.publicKey }),
    'config: jwksPrivateKey: expected a PEM "PRIVATE KEY" or "RSA PRIVATE KEY" block, found "PUBLIC KEY"',
  ],
  [
    "jwksPrivateKey with two PEM blocks",
    () => ({ jwksPrivateKey: keys.rsa.privateKey + keys.rsa.privateKey }),
    "config: jwksPrivateKey: unparsable private key: must contain exactly one PEM block",
  ],
  [
    "jwksPrivateKey encrypted",
    () => ({
      jwksPrivateKey: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
    }),
    "config: jwksPrivateKey: unparsable private key: encrypted private keys are not supported",
  ],
  [
    "jwksKeys kid equal to the active kid",
    () => ({ jwksKeys: [{ kid: "tikti-local-1", publicKey: keys.rsa.publicKey }] }),
    'config: jwksKeys[0].kid: duplicate kid "tikti-local-1"',
  ],
  [
    "jwksKeys duplicate kid between entries",
    () => ({
      jwksKeys: [
        { kid: "a", publicKey: keys.rsa.publicKey },
        { kid: "a", privateKey: keys.rsaPkcs1.privateKey },
      ],
    }),
    'config: jwksKeys[1].kid: duplicate kid "a"',
  ],
  [
    "jwksKeys entry with both keys",
    () => ({ jwksKeys: [{ kid: "a", publicKey: keys.rsa.publicKey, privateKey: keys.rsa.privateKey }] }),
    "config: jwksKeys[0]: needs exactly one of publicKey or privateKey",
  ],
  [
    "jwksKeys entry with neither key",
    () => ({ jwksKeys: [{ kid: "a" }] }),
    "config: jwksKeys[0]: needs exactly one of publicKey or privateKey",
  ],
  [
    "jwksKeys EC P-384 public key",
    () => ({ jwksKeys: [{ kid: "a", publicKey: keys.ecP384.publicKey }] }),
    "config: jwksKeys[0].publicKey: EC key on a curve other than P-256 (ES256 needs P-256)",
  ],
  [
    "jwksKeys RSA-1024 public key",
    () => ({ jwksKeys: [{ kid: "a", publicKey: keys.rsa1024.publicKey }] }),
    "config: jwksKeys[0].publicKey: RSA key too small (1024 bits",
  ],
  [
    "jwksKeys private key too small",
    () => ({ jwksKeys: [{ kid: "a", privateKey: keys.rsa1024.privateKey }] }),
    "config: jwksKeys[0].privateKey: RSA key too small",
  ],
  [
    "jwksKeys publicKey that is a private key",
    () => ({ jwksKeys: [{ kid: "a", publicKey: keys.rsa.privateKey }] }),
    'config: jwksKeys[0].publicKey: expected a PEM "PUBLIC KEY" block',
  ],
  [
    "jwksKeys kid missing",
    () => ({ jwksKeys: [{ publicKey: keys.rsa.publicKey }] }),
    "config: jwksKeys[0].kid:",
  ],
  // Issuer
  ["issuer missing", () => ({ issuerBaseUrl: "" }), "config: issuerBaseUrl: required"],
  [
    "issuer relative",
    () => ({ issuerBaseUrl: "id.example.com" }),
    "config: issuerBaseUrl: must be an absolute URL",
  ],
  [
    "issuer with query",
    () => ({ issuerBaseUrl: "https://id.example.com/?a=1" }),
    "config: issuerBaseUrl: must not have a query string",
  ],
  [
    "issuer with empty query",
    () => ({ issuerBaseUrl: "https://id.example.com/?" }),
    "config: issuerBaseUrl: must not have a query string",
  ],
  [
    "issuer with fragment",
    () => ({ issuerBaseUrl: "https://id.example.com/#x" }),
    "config: issuerBaseUrl: must not have a fragment",
  ],
  [
    "issuer http (not dev)",
    () => ({ issuerBaseUrl: "http://id.example.com" }),
    "config: issuerBaseUrl: must be an https URL",
  ],
  [
    "issuer loopback http outside dev",
    () => ({ issuerBaseUrl: "http://127.0.0.1:8080" }),
    "config: issuerBaseUrl: http is accepted only for loopback hosts in devMode",
  ],
  [
    "issuer non-loopback http in dev",
    () => ({ devMode: true, issuerBaseUrl: "http://10.1.2.3:8080" }),
    "config: issuerBaseUrl: must be an https URL",
  ],
  [
    "issuer ftp",
    () => ({ issuerBaseUrl: "ftp://id.example.com" }),
    "config: issuerBaseUrl: must be an https URL",
  ],
  [
    "issuer with credentials",
    () => ({ issuerBaseUrl: "https://u:p@id.example.com" }),
    "config: issuerBaseUrl: must not contain credentials",
  ],
  [
    "issuer with a space",
    () => ({ issuerBaseUrl: "https://id.example.com/a b" }),
    "config: issuerBaseUrl: must not contain whitespace",
  ],
  // Storage
  [
    "two Redis selectors",
    () => ({ redisAddr: "r:6379", redisUrl: "redis://r:6379" }),
    "config: redisUrl: only one of redisAddr, redisUrl, redisCluster may be set (found redisAddr, redisUrl)",
  ],
  [
    "three Redis selectors",
    () => ({ redisAddr: "r:6379", redisCluster: ["a:1"], redisUrl: "redis://r" }),
    "config: redisUrl: only one of redisAddr, redisUrl, redisCluster",
  ],
  [
    "empty cluster entry",
    () => ({ redisCluster: ["a:7000", " ", "b:7000"] }),
    "config: redisCluster[1]: empty cluster entry",
  ],
  [
    "cluster entry without port",
    () => ({ redisCluster: ["a"] }),
    "config: redisCluster[0]: must be host:port",
  ],
  ["redisAddr without port", () => ({ redisAddr: "redis" }), "config: redisAddr: must be host:port"],
  [
    "redisUrl with another scheme",
    () => ({ redisUrl: "http://r:6379" }),
    "config: redisUrl: must be a redis:// or rediss:// URL",
  ],
  // HTTP
  [
    "allowedOrigins *",
    () => ({ http: { allowedOrigins: ["*"] } }),
    'config: http.allowedOrigins[0]: "*" is not allowed',
  ],
  [
    "allowedOrigins wildcard host",
    () => ({ http: { allowedOrigins: ["https://*.example.com"] } }),
    "config: http.allowedOrigins[0]: not an origin",
  ],
  [
    "allowedOrigins with a path",
    () => ({ http: { allowedOrigins: ["https://a.example.com", "https://b.example.com/app"] } }),
    "config: http.allowedOrigins[1]: not an origin",
  ],
  [
    "allowedOrigins without scheme",
    () => ({ http: { allowedOrigins: ["a.example.com"] } }),
    "config: http.allowedOrigins[0]: not an origin",
  ],
  [
    "allowedOrigins null",
    () => ({ http: { allowedOrigins: ["null"] } }),
    "config: http.allowedOrigins[0]: not an origin",
  ],
  [
    "trustedProxies prefix /33",
    () => ({ http: { trustedProxies: ["10.0.0.0/33"] } }),
    "config: http.trustedProxies[0]: invalid CIDR",
  ],
  [
    "trustedProxies IPv6 prefix /129",
    () => ({ http: { trustedProxies: ["fd00::/8", "fd00::/129"] } }),
    "config: http.trustedProxies[1]: invalid CIDR",
  ],
  [
    "trustedProxies bad IPv6",
    () => ({ http: { trustedProxies: ["fd00:::1/64"] } }),
    "config: http.trustedProxies[0]: invalid CIDR",
  ],
  [
    "trustedProxies octet 256",
    () => ({ http: { trustedProxies: ["10.0.0.256/32"] } }),
    "config: http.trustedProxies[0]: invalid CIDR",
  ],
  [
    "trustedProxies host name",
    () => ({ http: { trustedProxies: ["proxy.local"] } }),
    "config: http.trustedProxies[0]: invalid CIDR",
  ],
  [
    "devMode with 0.0.0.0",
    () => ({ devMode: true, bindAddress: "0.0.0.0", issuerBaseUrl: "http://127.0.0.1:8080" }),
    "config: bindAddress: must be a loopback address in devMode",
  ],
  [
    "metrics.port equal to port",
    () => ({ metrics: { port: 8080 } }),
    "config: metrics.port: must differ from port",
  ],
  // Accounts
  ["signUp unknown", () => ({ accounts: { signUp: "everyone" } }), "config: accounts.signUp: Invalid option"],
  [
    "signUpTenant malformed",
    () => ({ accounts: { signUpTenant: "acme corp" } }),
    "config: accounts.signUpTenant: must be a tenant id",
  ],
  [
    "signUpTenant too long",
    () => ({ accounts: { signUpTenant: "t".repeat(129) } }),
    "config: accounts.signUpTenant: must be a tenant id",
  ],
  [
    "passwordMinLength 7",
    () => ({ accounts: { passwordMinLength: 7 } }),
    "config: accounts.passwordMinLength: must be at least 8",
  ],
  [
    "passwordHash.scheme md5",
    () => ({ accounts: { passwordHash: { scheme: "md5" } } }),
    "config: accounts.passwordHash.scheme: Invalid option",
  ],
  [
    "bcryptCost 9",
    () => ({ accounts: { passwordHash: { bcryptCost: 9 } } }),
    "config: accounts.passwordHash.bcryptCost: must be at least 10",
  ],
  [
    "scrypt ln 14",
    () => ({ accounts: { passwordHash: { scrypt: { ln: 14 } } } }),
    "config: accounts.passwordHash.scrypt.ln: must be at least 15",
  ],
  [
    "scrypt r 4",
    () => ({ accounts: { passwordHash: { scrypt: { r: 4 } } } }),
    "config: accounts.passwordHash.scrypt.r: must be at least 8",
  ],
  [
    "argon2id m 4096",
    () => ({ accounts: { passwordHash: { argon2id: { m: 4096 } } } }),
    "config: accounts.passwordHash.argon2id.m: must be at least 19456",
  ],
  [
    "argon2id t 1",
    () => ({ accounts: { passwordHash: { argon2id: { t: 1 } } } }),
    "config: accounts.passwordHash.argon2id.t: must be at least 2",
  ],
  [
    "argon2id p 0",
    () => ({ accounts: { passwordHash: { argon2id: { p: 0 } } } }),
    "config: accounts.passwordHash.argon2id.p: must be at least 1",
  ],
  [
    "oobCodeTtlSeconds 59",
    () => ({ accounts: { oobCodeTtlSeconds: 59 } }),
    "config: accounts.oobCodeTtlSeconds: must be at least 60",
  ],
  // Audit
  [
    "audit file without path",
    () => ({ audit: { sink: "file" } }),
    'config: audit.filePath: required when audit.sink is "file"',
  ],
  ["audit sink unknown", () => ({ audit: { sink: "syslog" } }), "config: audit.sink: Invalid option"],
  // SAML value rules (schema, always)
  [
    "sp.keyBits 1024",
    () => saml({ saml: { sp: { keyBits: 1024 } } }),
    "config: saml.sp.keyBits: must be 2048, 3072 or 4096",
  ],
  [
    "sp.clockSkewSeconds 301",
    () => saml({ saml: { sp: { clockSkewSeconds: 301 } } }),
    "config: saml.sp.clockSkewSeconds: must be at most 300",
  ],
  [
    "sp.clockSkewSeconds -1",
    () => saml({ saml: { sp: { clockSkewSeconds: -1 } } }),
    "config: saml.sp.clockSkewSeconds: must be at least 0",
  ],
  [
    "sp.requestTTLSeconds 59",
    () => saml({ saml: { sp: { requestTTLSeconds: 59 } } }),
    "config: saml.sp.requestTTLSeconds: must be at least 60",
  ],
  [
    "sp.requestTTLSeconds 901",
    () => saml({ saml: { sp: { requestTTLSeconds: 901 } } }),
    "config: saml.sp.requestTTLSeconds: must be at most 900",
  ],
  [
    "acs.sessionTTL 86401",
    () => saml({ saml: { acs: { sessionTTL: 86_401 } } }),
    "config: saml.acs.sessionTTL: must be at most 86400",
  ],
  [
    "idp.refreshIntervalHours 0",
    () => saml({ saml: { idp: { refreshIntervalHours: 0 } } }),
    "config: saml.idp.refreshIntervalHours: must be at least 1",
  ],
  [
    "idp.fetchTimeoutSeconds 61",
    () => saml({ saml: { idp: { fetchTimeoutSeconds: 61 } } }),
    "config: saml.idp.fetchTimeoutSeconds: must be at most 60",
  ],
  [
    "allowedSigAlgs rsa-sha1",
    () => saml({ saml: { sp: { allowedSigAlgs: ["rsa-sha256", "rsa-sha1"] } } }),
    "config: saml.sp.allowedSigAlgs[1]: Invalid option",
  ],
  [
    "allowedSigAlgs empty",
    () => saml({ saml: { sp: { allowedSigAlgs: [] } } }),
    "config: saml.sp.allowedSigAlgs: must name at least one algorithm",
  ],
  [
    "allowedDigestAlgs sha1",
    () => saml({ saml: { sp: { allowedDigestAlgs: ["sha1"] } } }),
    "config: saml.sp.allowedDigestAlgs[0]: Invalid option",
  ],
  [
    "canonicalization inclusive",
    () => saml({ saml: { sp: { canonicalization: "xml-c14n" } } }),
    'config: saml.sp.canonicalization: only "xml-exc-c14n" is accepted',
  ],
  [
    "deliveryMode redirect",
    () => saml({ saml: { acs: { deliveryMode: "query" } } }),
    'config: saml.acs.deliveryMode: only "cookie" is accepted',
  ],
  [
    "cookieSameSite unknown",
    () => saml({ saml: { acs: { cookieSameSite: "Sometimes" } } }),
    "config: saml.acs.cookieSameSite: must be Strict, Lax or None",
  ],
  [
    "cookieName with a space",
    () => saml({ saml: { acs: { cookieName: "a b" } } }),
    "config: saml.acs.cookieName: must match",
  ],
  [
    "requireAssertionSigned as a string",
    () => saml({ saml: { sp: { requireAssertionSigned: "true" } } }),
    "config: saml.sp.requireAssertionSigned: expected a boolean",
  ],
  [
    "metrics.namespace invalid",
    () => saml({ saml: { metrics: { namespace: "a-b" } } }),
    "config: saml.metrics.namespace: must be a Prometheus name",
  ],
  // SAML value rules (validate, when enabled)
  [
    "entityID http outside dev",
    () => saml({ saml: { sp: { entityID: "http://sp.example.com/saml" } } }),
    "config: saml.sp.entityID: must be an https URL",
  ],
  [
    "acsURL relative",
    () => saml({ saml: { sp: { acsURL: "/saml/acs" } } }),
    "config: saml.sp.acsURL: must be an absolute URL",
  ],
  [
    "sloURL with fragment",
    () => saml({ saml: { sp: { sloURL: "https://id.example.com/slo#x" } } }),
    "config: saml.sp.sloURL: must not have a fragment",
  ],
  [
    "entityID http non-loopback in dev",
    () => samlDev({ saml: { sp: { entityID: "http://10.0.0.1/saml" } } }),
    "config: saml.sp.entityID: must be an https URL",
  ],
  [
    "cookieSameSite None with cookieSecure false",
    () => samlDev({ saml: { acs: { cookieSameSite: "none" } } }),
    "config: saml.acs.cookieSameSite: None requires cookieSecure: true",
  ],
  [
    "cookieSecure false outside dev",
    () => saml({ saml: { acs: { cookieSecure: false } } }),
    "config: saml.acs.cookieSecure: false is accepted only in devMode",
  ],
  [
    "postLoginURL //evil.com",
    () => saml({ saml: { acs: { postLoginURL: "//evil.com" } } }),
    "config: saml.acs.postLoginURL: not a safe redirect target",
  ],
  [
    "postLoginURL /\\evil.com",
    () => saml({ saml: { acs: { postLoginURL: "/\\evil.com" } } }),
    "config: saml.acs.postLoginURL: not a safe redirect target",
  ],
  [
    "postLoginURL relative",
    () => saml({ saml: { acs: { postLoginURL: "dashboard" } } }),
    "config: saml.acs.postLoginURL: not a safe redirect target",
  ],
  [
    "postLogoutURL foreign https",
    () => saml({ saml: { acs: { postLogoutURL: "https://evil.com/x" } } }),
    "config: saml.acs.postLogoutURL: not a safe redirect target",
  ],
  [
    "postLogoutURL /@evil.com",
    () => saml({ saml: { acs: { postLogoutURL: "/@evil.com" } } }),
    "config: saml.acs.postLogoutURL: not a safe redirect target",
  ],
  [
    "allowedRedirectOrigins http",
    () => saml({ saml: { acs: { allowedRedirectOrigins: ["http://app.example.com"] } } }),
    "config: saml.acs.allowedRedirectOrigins[0]: must be an https origin",
  ],
  [
    "allowedRedirectOrigins with path",
    () => saml({ saml: { acs: { allowedRedirectOrigins: ["https://app.example.com/x"] } } }),
    "config: saml.acs.allowedRedirectOrigins[0]: must be an https origin",
  ],
  [
    "cookieDomain with scheme",
    () => saml({ saml: { acs: { cookieDomain: "https://example.com" } } }),
    "config: saml.acs.cookieDomain: must be a domain name",
  ],
  [
    "__Host- cookie with a domain",
    () => saml({ saml: { acs: { cookieName: "__Host-idt", cookieDomain: "example.com" } } }),
    "config: saml.acs.cookieDomain: must be empty with a __Host- cookie name",
  ],
  [
    "idp.skipSignatureCheck true",
    () => saml({ saml: { idp: { skipSignatureCheck: true } } }),
    "config: saml.idp.skipSignatureCheck: true is refused",
  ],
];

describe("refusals name the key", () => {
  test.each(refusals)("%s", async (_name, extra, message) => {
    const msg = await refusal(() => loadDoc(merge(base, extra())));
    expect(msg).toContain(message);
    for (const line of msg.split("\n")) expect(line).toMatch(/^config: \S+: /);
  });

  test("several problems are reported together, one line each", async () => {
    const msg = await refusal(() =>
      loadDoc({ ...base, apiKey: "", jwtSecret: "short", http: { allowedOrigins: ["*"] } }),
    );
    expect(msg.split("\n")).toEqual([
      "config: jwtSecret: must be at least 32 bytes (has 5)",
      "config: apiKey: must not be empty (set apiKey, API_KEY or API_KEY_FILE)",
      'config: http.allowedOrigins[0]: "*" is not allowed; list exact origins',
    ]);
  });
});

type Accept = [name: string, extra: () => Record<string, unknown>, check: (c: Config) => void];

const accepted: Accept[] = [
  [
    "PKCS#8 RSA key",
    () => ({ jwksPrivateKey: keys.rsa.privateKey }),
    (c) => expect(c.jwksPrivateKey).toBe(keys.rsa.privateKey),
  ],
  [
    "PKCS#1 RSA key (openssl genrsa)",
    () => ({ jwksPrivateKey: keys.rsaPkcs1.privateKey }),
    (c) => expect(c.jwksPrivateKey).toContain("BEGIN RSA PRIVATE KEY"),
  ],
  [
    "jwksKeys with an SPKI public key and a PKCS#1 private key",
    () => ({
      jwksKeys: [
        { kid: "k2", publicKey: keys.rsaPkcs1.publicKey },
        { kid: "k3", privateKey: keys.rsaPkcs1.privateKey },
      ],
    }),
    (c) => expect(c.jwksKeys.map((k) => k.kid)).toEqual(["k2", "k3"]),
  ],
  [
    "issuer trailing slash removed",
    () => ({ issuerBaseUrl: "https://id.example.com/tikti//" }),
    (c) => expect(c.issuerBaseUrl).toBe("https://id.example.com/tikti"),
  ],
  [
    "issuer loopback http in dev",
    () => ({ devMode: true, issuerBaseUrl: "http://localhost:8080/" }),
    (c) => expect(c.issuerBaseUrl).toBe("http://localhost:8080"),
  ],
  [
    "issuer IPv6 loopback http in dev",
    () => ({ devMode: true, bindAddress: "::1", issuerBaseUrl: "http://[::1]:8080" }),
    (c) => expect(c.bindAddress).toBe("::1"),
  ],
  [
    "allowedOrigins lower-cased, default port dropped, trailing / tolerated, duplicates merged",
    () => ({
      http: {
        allowedOrigins: ["https://App.Example.COM:443", "http://localhost:3000/", "https://app.example.com"],
      },
    }),
    (c) => expect(c.http.allowedOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]),
  ],
  [
    "IPv4 and IPv6 CIDRs and bare addresses",
    () => ({
      http: {
        trustedProxies: [
          "10.0.0.0/8",
          "0.0.0.0/0",
          "fd00::/8",
          "::/0",
          "2001:db8::1/128",
          "2001:db8::/32",
          "192.168.1.1",
        ],
      },
    }),
    (c) => expect(c.http.trustedProxies).toHaveLength(7),
  ],
  [
    "Redis cluster of IPv6 nodes",
    () => ({ redisCluster: ["[fd00::1]:7000", "[fd00::2]:7000"] }),
    (c) => expect(c.redisCluster).toHaveLength(2),
  ],
  [
    "redisUrl rediss",
    () => ({ redisUrl: "rediss://user:pw@redis.example.com:6380/2" }),
    (c) => expect(c.redisUrl).toMatch(/^rediss:/),
  ],
  [
    "signUpTenant with Go-era characters",
    () => ({ accounts: { signUpTenant: "Acme_Corp.1" } }),
    (c) => expect(c.accounts.signUpTenant).toBe("Acme_Corp.1"),
  ],
  [
    "audit file with path",
    () => ({ audit: { sink: "file", filePath: "/var/log/tikti/audit.jsonl" } }),
    (c) => expect(c.audit.sink).toBe("file"),
  ],
  [
    "SAML in dev with loopback http URLs and an insecure cookie",
    () => samlDev(),
    (c) => {
      expect(c.saml.sp.acsURL).toBe("http://127.0.0.1:8080/saml/acs");
      expect(c.saml.acs.cookieSecure).toBe(false);
    },
  ],
  [
    "SAML postLoginURL as an https URL of allowedRedirectOrigins (normalised)",
    () =>
      saml({
        saml: {
          acs: {
            allowedRedirectOrigins: ["https://App.Example.com"],
            postLoginURL: "https://app.example.com/home?x=1",
          },
        },
      }),
    (c) => expect(c.saml.acs.allowedRedirectOrigins).toEqual(["https://app.example.com"]),
  ],
  [
    "SAML keyBits 4096, sha512 algorithms, SameSite None with a secure cookie",
    () =>
      saml({
        saml: {
          sp: { keyBits: 4096, allowedSigAlgs: ["rsa-sha512"], allowedDigestAlgs: ["sha256", "sha512"] },
          acs: { cookieSameSite: "NONE" },
        },
      }),
    (c) => expect(c.saml.acs.cookieSameSite).toBe("None"),
  ],
  [
    "SAML URLs are not checked while SAML is disabled",
    () => ({ saml: { enabled: false, sp: { entityID: "urn:not-a-url" }, acs: { cookieSecure: false } } }),
    (c) => expect(c.saml.sp.entityID).toBe("urn:not-a-url"),
  ],
];

describe("accepted values", () => {
  test.each(accepted)("%s", async (_name, extra, check) => {
    const { config } = await loadDoc(merge(base, extra()));
    check(config);
  });

  test("SAML warnings: cookieHTTPOnly false", async () => {
    const { warnings } = await loadDoc(merge(base, saml({ saml: { acs: { cookieHTTPOnly: false } } })));
    expect(warnings).toEqual([
      "config: saml.acs.cookieHTTPOnly: false lets page scripts read the idToken cookie",
    ]);
  });

  test("weak secrets and an explicit devMode are warnings, not refusals", async () => {
    const { warnings } = await loadDoc({
      ...base,
      apiKey: "short",
      jwtSecret: "x".repeat(32),
      devMode: true,
      issuerBaseUrl: "http://127.0.0.1:8080",
    });
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^config: jwtSecret: too weak: expected at least 32 random bytes/);
    expect(warnings[1]).toMatch(/^config: apiKey: too weak: expected at least 32 random characters/);
    expect(warnings[2]).toMatch(/^config: devMode: development mode is on/);
  });

  test("random secrets from the documented generators always pass the floor", async () => {
    // openssl rand -hex 16 (32 chars, the shortest accepted), -hex 32, and base64url: 2,000 each.
    const { secretStrengthProblem } = await import("../../src/config/validate.ts");
    const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
    const b64 = (bytes: number) =>
      Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
    for (let i = 0; i < 2_000; i++) {
      for (const secret of [hex(16), hex(32), b64(32), b64(48)]) {
        expect(secretStrengthProblem([...secret], "characters"), secret).toBeNull();
      }
    }
  });

  test("a jwtSecret is measured in bytes: 32 multi-byte characters of one kind are still weak", async () => {
    const msg = await refusal(() => loadDoc({ ...base, jwtSecret: "é".repeat(16) }));
    expect(msg).toContain("config: jwtSecret: too weak: expected at least 32 random bytes");
    expect(msg).toContain("has 32 bytes, 2 distinct");
  });
});

describe("SAML key file hook", () => {
  test("called when SAML is enabled; its problems refuse the start", async () => {
    const seen: string[] = [];
    const msg = await refusal(() =>
      loadDoc(merge(base, saml()), {
        load: {
          validateSamlKeyFiles: async (c) => {
            seen.push(c.saml.sp.signingKeyPath);
            return [{ key: "saml.sp.signingKeyPath", problem: "cannot be read" }];
          },
        },
      }),
    );
    expect(seen).toEqual(["/etc/tikti/saml/sp.key"]);
    expect(msg).toBe("config: saml.sp.signingKeyPath: cannot be read");
  });

  test("not called when SAML is disabled", async () => {
    let called = false;
    await loadDoc(base, {
      load: {
        validateSamlKeyFiles: async () => {
          called = true;
          return [];
        },
      },
    });
    expect(called).toBe(false);
  });
});

describe("helpers", () => {
  test.each([
    ["/", true],
    ["/app", true],
    ["/app/settings?tab=profile", true],
    ["//evil.com", false],
    ["/\\evil.com", false],
    ["/@evil.com", false],
    ["evil.com", false],
    ["relative/path", false],
    ["https://evil.com/x", false],
    ["https://app.example.com/x", true],
    ["http://app.example.com/x", false],
    ["/a b", false],
    ["/a\u0000", false],
    [`/${"a".repeat(2048)}`, false],
  ])("isSafeRedirectTarget(%j) = %s (docs/spec/saml.md §6.4)", (target, ok) => {
    expect(isSafeRedirectTarget(target, "https://id.example.com", ["https://app.example.com"])).toBe(ok);
  });

  test.each([
    ["https://A.example.com", "https://a.example.com"],
    ["https://a.example.com:8443/", "https://a.example.com:8443"],
    ["https://a.example.com/x", null],
    ["https://a.example.com?x", null],
    ["https://user@a.example.com", null],
    ["ftp://a.example.com", null],
  ])("normalizeOrigin(%j) = %j", (raw, expected) => {
    expect(normalizeOrigin(raw, ["http:", "https:"])).toBe(expected);
  });

  test("checkRsaKeyPem: PKCS#8 and PKCS#1 accepted, sizes and types refused", async () => {
    expect(await checkRsaKeyPem(keys.rsa.privateKey, "private")).toBeNull();
    expect(await checkRsaKeyPem(keys.rsaPkcs1.privateKey, "private")).toBeNull();
    expect(await checkRsaKeyPem(keys.rsa.publicKey, "public")).toBeNull();
    expect(await checkRsaKeyPem(keys.rsa1024Pkcs1.privateKey, "private")).toBe(
      "RSA key too small (1024 bits, at least 2048 required)",
    );
    expect(await checkRsaKeyPem(keys.ec.privateKey, "private")).toBe("not an RSA key (found EC)");
    expect(await checkRsaKeyPem(keys.ed25519.publicKey, "public")).toBe("not an RSA key (found Ed25519)");
  });

  test("checkAccessTokenKeyPem: the key's type names the algorithm (docs/spec/tokens.md §1)", async () => {
    expect(await checkAccessTokenKeyPem(keys.rsa.privateKey, "private")).toEqual({ alg: "RS256" });
    expect(await checkAccessTokenKeyPem(keys.rsaPkcs1.privateKey, "private")).toEqual({ alg: "RS256" });
    expect(await checkAccessTokenKeyPem(keys.ec.privateKey, "private")).toEqual({ alg: "ES256" });
    expect(await checkAccessTokenKeyPem(keys.ec.publicKey, "public")).toEqual({ alg: "ES256" });
    expect(await checkAccessTokenKeyPem(keys.ed25519.privateKey, "private")).toEqual({ alg: "EdDSA" });
    expect(await checkAccessTokenKeyPem(keys.ed25519.publicKey, "public")).toEqual({ alg: "EdDSA" });
    expect(await checkAccessTokenKeyPem(keys.ecP384.publicKey, "public")).toEqual({
      problem: "EC key on a curve other than P-256 (ES256 needs P-256)",
    });
    expect(await checkAccessTokenKeyPem(keys.ec.publicKey, "private")).toEqual({
      problem: 'expected a PEM "PRIVATE KEY" or "RSA PRIVATE KEY" block, found "PUBLIC KEY"',
    });
  });

  test("an EC P-256 or Ed25519 signing key with the matching jwksAlgorithm starts; other-type keys are published", async () => {
    for (const [key, alg] of [
      [keys.ec.privateKey, "ES256"],
      [keys.ed25519.privateKey, "EdDSA"],
    ] as const) {
      const { config } = await loadDoc(
        merge(base, {
          jwksPrivateKey: key,
          jwksAlgorithm: alg,
          jwksKeys: [
            { kid: "old-rsa", publicKey: keys.rsa.publicKey },
            { kid: "other-ec", publicKey: keys.ec.publicKey },
            { kid: "other-ed", privateKey: keys.ed25519.privateKey },
          ],
        }),
      );
      expect(config.jwksAlgorithm).toBe(alg);
    }
  });
});
