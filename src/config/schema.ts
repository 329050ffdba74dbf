/**
 * The one schema of the configuration file (docs/spec/operations.md §2.2, docs/spec/saml.md §2).
 *
 * Every object is strict (an unknown key is refused and named), every default is filled, every
 * range is enforced. Booleans are real booleans: the string "false" is a type error, never truthy.
 * Checks that need more than one key or a parser (URLs, origins, CIDRs, PEM keys) live in
 * `validate.ts`; the loading rules (files, `${VAR}`, environment, secrets) in `load.ts`.
 */
import { z } from "zod";

/**
 * Stands for `${issuerBaseUrl}` until the final `issuerBaseUrl` is known (docs/spec/operations.md §2.1 rule 2).
 * A NUL-delimited marker cannot come from YAML text or the environment by accident, so only the
 * reserved token (and the SAML URL defaults) produce it.
 */
export const ISSUER_PLACEHOLDER = "\u0000issuerBaseUrl\u0000";

// docs/spec/api.md §2.10
const ROLE_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const SCOPE = /^[A-Za-z0-9._:/*-]{1,128}$/;
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROM_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const int = (min: number, max: number) =>
  z
    .number({ error: "expected an integer" })
    .int({ error: "expected an integer" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const bool = () => z.boolean({ error: "expected a boolean (true or false, unquoted)" });
const str = () => z.string({ error: "expected a string" });
const strList = () => z.array(str(), { error: "expected a list of strings" });

const bucket = (limit: number, windowSeconds: number) =>
  z
    .strictObject({
      limit: int(1, 1_000_000).default(limit),
      windowSeconds: int(1, 86_400).default(windowSeconds),
    })
    .prefault({});

const SAME_SITE = { strict: "Strict", lax: "Lax", none: "None" } as const;
type SameSite = (typeof SAME_SITE)[keyof typeof SAME_SITE];

const samlSchema = z
  .strictObject({
    enabled: bool().default(false),
    sp: z
      .strictObject({
        entityID: str().default(`${ISSUER_PLACEHOLDER}/saml`),
        acsURL: str().default(`${ISSUER_PLACEHOLDER}/saml/acs`),
        sloURL: str().default(`${ISSUER_PLACEHOLDER}/saml/slo`),
        signingKeyPath: str().min(1).default("/etc/tikti/saml/sp.key"),
        signingCertPath: str().min(1).default("/etc/tikti/saml/sp.crt"),
        // Default: the signing paths (filled by `fillDependentDefaults`).
        encryptionKeyPath: str().min(1).optional(),
        encryptionCertPath: str().min(1).optional(),
        nextSigningKeyPath: str().min(1).default("/etc/tikti/saml/sp-next.key"),
        nextSigningCertPath: str().min(1).default("/etc/tikti/saml/sp-next.crt"),
        keyBits: z
          .number({ error: "expected an integer" })
          .refine((v) => v === 2048 || v === 3072 || v === 4096, { error: "must be 2048, 3072 or 4096" })
          .default(2048),
        clockSkewSeconds: int(0, 300).default(120),
        requestTTLSeconds: int(60, 900).default(300),
        allowedSigAlgs: z
          .array(z.enum(["rsa-sha256", "rsa-sha512"]))
          .min(1, { error: "must name at least one algorithm" })
          .default(["rsa-sha256"]),
        allowedDigestAlgs: z
          .array(z.enum(["sha256", "sha512"]))
          .min(1, { error: "must name at least one algorithm" })
          .default(["sha256"]),
        canonicalization: z
          .literal("xml-exc-c14n", { error: 'only "xml-exc-c14n" is accepted' })
          .default("xml-exc-c14n"),
        requireAssertionSigned: bool().default(true),
        requireEncryptedAssertion: bool().default(false),
        rotationGraceHours: int(0, 8_760).default(72),
        keyReloadSeconds: int(1, 86_400).default(30),
      })
      .prefault({}),
    acs: z
      .strictObject({
        postLoginURL: str().default("/dashboard"),
        postLogoutURL: str().default("/"),
        allowedRedirectOrigins: strList().default([]),
        deliveryMode: z.literal("cookie", { error: 'only "cookie" is accepted' }).default("cookie"),
        cookieName: str()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must match ^[A-Za-z0-9_-]{1,64}$" })
          .default("tikti_idt"),
        cookieDomain: str().default(""),
        cookieSameSite: str()
          .refine((v) => v.toLowerCase() in SAME_SITE, { error: "must be Strict, Lax or None" })
          .transform((v): SameSite => SAME_SITE[v.toLowerCase() as keyof typeof SAME_SITE])
          .default("Lax"),
        cookieSecure: bool().default(true),
        cookieHTTPOnly: bool().default(true),
        sessionTTL: int(60, 86_400).default(3600),
      })
      .prefault({}),
    idp: z
      .strictObject({
        refreshIntervalHours: int(1, 168).default(24),
        backgroundRefresh: bool().default(true),
        metadataMaxBytes: int(1024, 16 * 1024 * 1024).default(1_048_576),
        fetchTimeoutSeconds: int(1, 60).default(10),
        certOverlapHours: int(0, 8_760).default(24),
        allowPrivateMetadataHosts: strList().default([]),
      })
      .prefault({}),
    discover: z
      .strictObject({
        enabled: bool().default(true),
        emailDomainIndexKey: str().min(1).default("saml:discover:domain"),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        namespace: str().regex(PROM_NAME, { error: "must be a Prometheus name" }).default("tikti"),
        subsystem: str().regex(PROM_NAME, { error: "must be a Prometheus name" }).default("saml"),
      })
      .prefault({}),
  })
  .prefault({});

/** The file's shape before dependent defaults (`bindAddress`, SAML encryption paths) are filled. */
export const configObjectSchema = z.strictObject({
  devMode: bool().default(false),
  // Default 0.0.0.0, or 127.0.0.1 in dev mode (filled by `fillDependentDefaults`).
  bindAddress: str().min(1).optional(),
  // 0 lets the OS choose a free port (tests); the issuer must then be set explicitly.
  port: int(0, 65_535).default(8080),
  // Server processes sharing the port (src/runtime/workers.ts); absent: one per core where possible.
  workers: int(1, 1024).optional(),
  redisAddr: str().default(""),
  redisUrl: str().default(""),
  redisCluster: strList().default([]),
  redisUsername: str().default(""),
  redisPassword: str().default(""),
  redisDb: z
    .number({ error: "expected an integer" })
    .int({ error: "expected an integer" })
    .min(0, { error: "must not be negative" })
    .max(2_147_483_647, { error: "must be at most 2147483647" })
    .default(0),
  redisTls: bool().default(false),
  redisTimeoutMs: int(1, 60_000).default(2000),
  dataDir: str().min(1).default("./data"),
  // Required secrets and issuer: "" means missing; validate.ts refuses with a message naming the
  // environment variables that can provide them.
  jwtSecret: str().default(""),
  apiKey: str().default(""),
  issuerBaseUrl: str().default(""),
  defaultAudience: str()
    .regex(CLIENT_ID, { error: "must be a client id (^[A-Za-z0-9._:-]{1,128}$)" })
    .default("tikti"),
  jwksPrivateKey: str().default(""),
  jwksKeyId: str()
    .regex(/^[\x21-\x7e]{1,128}$/, { error: "must be 1-128 printable ASCII characters without spaces" })
    .default("tikti-local-1"),
  // docs/spec/tokens.md §1: the algorithm of access tokens, which the jwksPrivateKey's type must fix.
  jwksAlgorithm: z.enum(["RS256", "ES256", "EdDSA"]).default("RS256"),
  jwksKeys: z
    .array(
      z.strictObject({
        kid: str().regex(/^[\x21-\x7e]{1,128}$/, {
          error: "must be 1-128 printable ASCII characters without spaces",
        }),
        publicKey: str().optional(),
        privateKey: str().optional(),
      }),
      { error: "expected a list of {kid, publicKey} or {kid, privateKey}" },
    )
    .default([]),
  idTokenTtlSeconds: int(300, 86_400).default(3600),
  accessTokenTtlSeconds: int(60, 604_800).default(3600),
  maxAccessTokenTtlSeconds: int(60, 604_800).default(86_400),
  clockSkewSeconds: int(0, 300).default(30),
  // docs/spec/oauth.md §6 (docs/oauth.md): refresh tokens of password and email-code sessions.
  tokens: z
    .strictObject({
      refresh: z
        .strictObject({
          enabled: bool().default(true),
          ttlSeconds: int(3600, 31_536_000).default(2_592_000),
          maxLifetimeSeconds: int(3600, 31_536_000).default(7_776_000),
        })
        .prefault({}),
    })
    .prefault({}),
  accounts: z
    .strictObject({
      signUp: z.enum(["open", "apiKey", "admin"]).default("open"),
      signUpTenant: str().default(""),
      passwordMinLength: int(8, 64).default(8),
      passwordHash: z
        .strictObject({
          scheme: z.enum(["argon2id", "bcrypt", "scrypt"]).default("argon2id"),
          bcryptCost: int(10, 31).default(10),
          scrypt: z
            .strictObject({
              ln: int(15, 22).default(15),
              r: int(8, 64).default(8),
              p: int(1, 16).default(1),
            })
            .prefault({}),
          argon2id: z
            .strictObject({
              m: int(19_456, 4_194_304).default(19_456),
              t: int(2, 64).default(2),
              p: int(1, 16).default(1),
            })
            .prefault({}),
        })
        .prefault({}),
      oobCodeTtlSeconds: int(60, 86_400).default(900),
    })
    .prefault({}),
  admin: z.strictObject({ requireAdminToken: bool().default(false) }).prefault({}),
  authorization: z
    .strictObject({
      // docs/spec/tokens.md §7 (permission set P). A configured map replaces the default entirely.
      implicitRolePermissions: z
        .record(
          str().regex(ROLE_NAME, { error: "must be a role name" }),
          z.array(str().regex(SCOPE, { error: "must be a scope (^[A-Za-z0-9._:/*-]{1,128}$)" })),
        )
        .default({
          COMPANY_EMPLOYEE: [
            "codeq:claim",
            "codeq:heartbeat",
            "codeq:abandon",
            "codeq:nack",
            "codeq:result",
            "codeq:subscribe",
          ],
        }),
      eventTypesRequiredAudiences: z
        .array(str().regex(CLIENT_ID, { error: "must be a client id" }))
        .default(["codeq-worker"]),
    })
    .prefault({}),
  // docs/spec/api.md §2.8
  rateLimits: z
    .strictObject({
      enabled: bool().default(true),
      signInIp: bucket(5, 60),
      signInEmail: bucket(5, 60),
      oobSignInIp: bucket(10, 60),
      oobSignInEmail: bucket(10, 60),
      oobSendEmail: bucket(3, 3600),
      signUpIp: bucket(20, 3600),
      exchangeUser: bucket(60, 60),
      samlIp: bucket(30, 60),
      refreshIp: bucket(60, 60),
      // docs/spec/oauth.md §2: per OAuth client id after authentication; failed authentications per client IP.
      oauthClient: bucket(600, 60),
      oauthAuthFailIp: bucket(20, 60),
      // Per normalised email + client IP: one attacker locks only their own address.
      lockout: z
        .strictObject({
          maxFailures: int(1, 1_000_000).default(10),
          windowSeconds: int(1, 86_400).default(900),
        })
        .prefault({}),
      // Per normalised email from all addresses: the ceiling against distributed guessing.
      lockoutEmail: z
        .strictObject({
          maxFailures: int(1, 1_000_000).default(100),
          windowSeconds: int(1, 86_400).default(900),
        })
        .prefault({}),
    })
    .prefault({}),
  http: z
    .strictObject({
      allowedOrigins: strList().default([]),
      trustedProxies: strList().default([]),
      headersTimeoutSeconds: int(1, 600).default(10),
      requestTimeoutSeconds: int(1, 3600).default(30),
      keepAliveTimeoutSeconds: int(1, 3600).default(60),
      maxHeaderBytes: int(4096, 65_536).default(16_384),
      shutdownDelaySeconds: int(0, 600).default(5),
      shutdownGraceSeconds: int(0, 3600).default(30),
    })
    .prefault({}),
  logging: z.strictObject({ level: z.enum(["debug", "info", "warn", "error"]).default("info") }).prefault({}),
  metrics: z
    .strictObject({
      enabled: bool().default(true),
      // Default filled in below: 9464 outside dev mode, 0 (the main port) in dev mode.
      port: int(0, 65_535).optional(),
    })
    .prefault({}),
  audit: z
    .strictObject({
      sink: z.enum(["stdout", "file"]).default("stdout"),
      filePath: str().default(""),
    })
    .prefault({}),
  saml: samlSchema,
});

type RawConfig = z.output<typeof configObjectSchema>;

/** The separate `/metrics` listener outside dev mode (the Prometheus exporters' customary port). */
export const DEFAULT_METRICS_PORT = 9464;

function fillDependentDefaults(c: RawConfig) {
  const sp = c.saml.sp;
  return {
    ...c,
    bindAddress: c.bindAddress ?? (c.devMode ? "127.0.0.1" : "0.0.0.0"),
    // Tenant-labelled series must not be public: outside dev mode /metrics gets its own listener
    // unless the operator explicitly chooses the main port with 0 (docs/adr/0030-metrics-listener.md).
    metrics: { ...c.metrics, port: c.metrics.port ?? (c.devMode ? 0 : DEFAULT_METRICS_PORT) },
    saml: {
      ...c.saml,
      sp: {
        ...sp,
        encryptionKeyPath: sp.encryptionKeyPath ?? sp.signingKeyPath,
        encryptionCertPath: sp.encryptionCertPath ?? sp.signingCertPath,
      },
    },
  };
}

/** The whole configuration file: parse with `configSchema.safeParse(value)`. */
export const configSchema = configObjectSchema.transform(fillDependentDefaults);

/** The validated configuration; every defaulted key is present. */
/** `T` with every property and array read-only, all the way down (functions kept as they are). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends ReadonlyArray<infer E>
    ? ReadonlyArray<DeepReadonly<E>>
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/**
 * The validated configuration, read-only all the way down: parsed once at start-up and shared by
 * every replica's services, so nothing may change it afterwards (issue 13 item 2).
 */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type SamlConfig = Config["saml"];

/** How an environment value (or an expanded `${VAR}`) is converted for a key. */
export type LeafKind = "string" | "int" | "bool" | "list" | "json";

export interface ConfigLeaf {
  /** Path segments, e.g. `["saml", "sp", "clockSkewSeconds"]`. */
  path: string[];
  kind: LeafKind;
}

/** Every settable key of the schema (objects are walked; records and lists of objects are JSON). */
export function configLeaves(): ConfigLeaf[] {
  const out: ConfigLeaf[] = [];
  walk(configObjectSchema, [], out);
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else {
      return s;
    }
  }
}

function walk(schema: z.ZodType, path: string[], out: ConfigLeaf[]): void {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(s.shape)) walk(child as z.ZodType, [...path, key], out);
    return;
  }
  out.push({ path, kind: leafKind(s) });
}

function leafKind(s: z.ZodType): LeafKind {
  if (s instanceof z.ZodNumber) return "int";
  if (s instanceof z.ZodBoolean) return "bool";
  if (s instanceof z.ZodArray) {
    const element = unwrap(s.element as z.ZodType);
    return element instanceof z.ZodString || element instanceof z.ZodEnum ? "list" : "json";
  }
  if (s instanceof z.ZodRecord) return "json";
  return "string";
}
