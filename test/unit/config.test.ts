// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write "${VAR}" as YAML text on purpose.
// Configuration loading (docs/spec/operations.md §2): defaults, unknown and Go-only keys, `${VAR}`
// expansion, environment overrides, secret files, precedence, file handling.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { ConfigError, GO_ONLY_KEYS, genericEnvName, loadConfig } from "../../src/config/load.ts";
import {
  API_KEY,
  baseDoc,
  JWT_SECRET,
  loadDoc,
  makeKeys,
  memoryIO,
  merge,
  refusal,
  type TestKeys,
} from "./config-support.ts";

let keys: TestKeys;
let base: Record<string, unknown>;
beforeAll(() => {
  keys = makeKeys();
  base = baseDoc(keys);
});

describe("defaults", () => {
  test("every defaulted key is filled", async () => {
    const { config, warnings, devQuickStart, configPath } = await loadDoc(base);
    expect(devQuickStart).toBe(false);
    expect(configPath).toBe("/etc/tikti.yaml");
    expect(warnings).toEqual([]);
    expect(config.devMode).toBe(false);
    expect(config.bindAddress).toBe("0.0.0.0");
    expect(config.port).toBe(8080);
    expect(config.redisAddr).toBe("");
    expect(config.redisCluster).toEqual([]);
    expect(config.redisDb).toBe(0);
    expect(config.redisTls).toBe(false);
    expect(config.redisTimeoutMs).toBe(2000);
    expect(config.dataDir).toBe("./data");
    expect(config.defaultAudience).toBe("tikti");
    expect(config.jwksKeyId).toBe("tikti-local-1");
    expect(config.jwksKeys).toEqual([]);
    expect(config.idTokenTtlSeconds).toBe(3600);
    expect(config.accessTokenTtlSeconds).toBe(3600);
    expect(config.maxAccessTokenTtlSeconds).toBe(86_400);
    expect(config.clockSkewSeconds).toBe(30);
    expect(config.tokens).toEqual({
      refresh: { enabled: true, ttlSeconds: 2_592_000, maxLifetimeSeconds: 7_776_000 },
    });
    expect(config.accounts).toEqual({
      signUp: "open",
      signUpTenant: "",
      passwordMinLength: 8,
      passwordHash: {
        scheme: "argon2id",
        bcryptCost: 10,
        scrypt: { ln: 15, r: 8, p: 1 },
        argon2id: { m: 19_456, t: 2, p: 1 },
      },
      oobCodeTtlSeconds: 900,
    });
    expect(config.admin.requireAdminToken).toBe(false);
    expect(config.authorization.implicitRolePermissions).toEqual({
      COMPANY_EMPLOYEE: [
        "codeq:claim",
        "codeq:heartbeat",
        "codeq:abandon",
        "codeq:nack",
        "codeq:result",
        "codeq:subscribe",
      ],
    });
    expect(config.authorization.eventTypesRequiredAudiences).toEqual(["codeq-worker"]);
    expect(config.rateLimits).toEqual({
      enabled: true,
      signInIp: { limit: 5, windowSeconds: 60 },
      signInEmail: { limit: 5, windowSeconds: 60 },
      oobSignInIp: { limit: 10, windowSeconds: 60 },
      oobSignInEmail: { limit: 10, windowSeconds: 60 },
      oobSendEmail: { limit: 3, windowSeconds: 3600 },
      signUpIp: { limit: 20, windowSeconds: 3600 },
      exchangeUser: { limit: 60, windowSeconds: 60 },
      samlIp: { limit: 30, windowSeconds: 60 },
      refreshIp: { limit: 60, windowSeconds: 60 },
      oauthClient: { limit: 600, windowSeconds: 60 },
      oauthAuthFailIp: { limit: 20, windowSeconds: 60 },
      lockout: { maxFailures: 10, windowSeconds: 900 },
      lockoutEmail: { maxFailures: 100, windowSeconds: 900 },
    });
    expect(config.http).toEqual({
      allowedOrigins: [],
      trustedProxies: [],
      headersTimeoutSeconds: 10,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 60,
      maxHeaderBytes: 16_384,
      shutdownDelaySeconds: 5,
      shutdownGraceSeconds: 30,
    });
    expect(config.logging.level).toBe("info");
    expect(config.metrics).toEqual({ enabled: true, port: 9464 });
    expect(config.audit).toEqual({ sink: "stdout", filePath: "" });
  });

  test("SAML defaults, with ${issuerBaseUrl} resolved and encryption paths = signing paths", async () => {
    const { config } = await loadDoc(base);
    expect(config.saml.enabled).toBe(false);
    expect(config.saml.sp).toMatchObject({
      entityID: "https://id.example.com/saml",
      acsURL: "https://id.example.com/saml/acs",
      sloURL: "https://id.example.com/saml/slo",
      signingKeyPath: "/etc/tikti/saml/sp.key",
      signingCertPath: "/etc/tikti/saml/sp.crt",
      encryptionKeyPath: "/etc/tikti/saml/sp.key",
      encryptionCertPath: "/etc/tikti/saml/sp.crt",
      nextSigningKeyPath: "/etc/tikti/saml/sp-next.key",
      nextSigningCertPath: "/etc/tikti/saml/sp-next.crt",
      keyBits: 2048,
      clockSkewSeconds: 120,
      requestTTLSeconds: 300,
      allowedSigAlgs: ["rsa-sha256"],
      allowedDigestAlgs: ["sha256"],
      canonicalization: "xml-exc-c14n",
      requireAssertionSigned: true,
      requireEncryptedAssertion: false,
      rotationGraceHours: 72,
      keyReloadSeconds: 30,
    });
    expect(config.saml.acs).toEqual({
      postLoginURL: "/dashboard",
      postLogoutURL: "/",
      allowedRedirectOrigins: [],
      deliveryMode: "cookie",
      cookieName: "tikti_idt",
      cookieDomain: "",
      cookieSameSite: "Lax",
      cookieSecure: true,
      cookieHTTPOnly: true,
      sessionTTL: 3600,
    });
    expect(config.saml.idp).toEqual({
      refreshIntervalHours: 24,
      backgroundRefresh: true,
      metadataMaxBytes: 1_048_576,
      fetchTimeoutSeconds: 10,
      certOverlapHours: 24,
      allowPrivateMetadataHosts: [],
    });
    expect(config.saml.discover).toEqual({ enabled: true, emailDomainIndexKey: "saml:discover:domain" });
    expect(config.saml.metrics).toEqual({ namespace: "tikti", subsystem: "saml" });
  });

  test("bindAddress defaults to 127.0.0.1 in dev mode", async () => {
    const { config } = await loadDoc({ ...base, devMode: true });
    expect(config.bindAddress).toBe("127.0.0.1");
  });

  test("an explicit encryption pair is kept", async () => {
    const { config } = await loadDoc(merge(base, { saml: { sp: { encryptionKeyPath: "/k/enc.key" } } }));
    expect(config.saml.sp.encryptionKeyPath).toBe("/k/enc.key");
    expect(config.saml.sp.encryptionCertPath).toBe("/etc/tikti/saml/sp.crt");
  });

  test("empty YAML values (null) mean 'use the default'", async () => {
    const { config } = await loadDoc(
      `${Object.entries(base)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join("\n")}\nhttp:\nport:\n`,
    );
    expect(config.port).toBe(8080);
    expect(config.http.maxHeaderBytes).toBe(16_384);
  });

  test("cookieSameSite is case-insensitive and canonicalised", async () => {
    const { config } = await loadDoc(merge(base, { saml: { acs: { cookieSameSite: "strict" } } }));
    expect(config.saml.acs.cookieSameSite).toBe("Strict");
  });

  test("a configured implicitRolePermissions map replaces the default", async () => {
    const { config } = await loadDoc(
      merge(base, { authorization: { implicitRolePermissions: { ops: ["a:b"] } } }),
    );
    expect(config.authorization.implicitRolePermissions).toEqual({ ops: ["a:b"] });
  });
});

describe("unknown keys are refused, naming the key", () => {
  test.each([
    [{ colour: "blue" }, "config: colour: unknown key"],
    [{ saml: { sp: { entityId: "x" } } }, "config: saml.sp.entityId: unknown key"],
    [{ rateLimits: { signInIp: { max: 3 } } }, "config: rateLimits.signInIp.max: unknown key"],
    [{ http: { cors: true } }, "config: http.cors: unknown key"],
    [{ jwksKeys: [{ kid: "a", publicKey: "x", extra: 1 }] }, "config: jwksKeys[0].extra: unknown key"],
  ])("%j", async (extra, message) => {
    const msg = await refusal(() => loadDoc(merge(base, extra)));
    expect(msg).toContain(message);
  });

  test("the error is a ConfigError with the key", async () => {
    const err = await loadDoc({ ...base, colour: "blue" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe("colour");
    expect((err as ConfigError).exitCode).toBe(2);
  });
});

describe("Go-only keys are accepted, removed and reported once each", () => {
  test("every key of docs/spec/operations.md §2.4 and docs/spec/saml.md §2", async () => {
    let doc: Record<string, unknown> = { ...base };
    for (const dotted of Object.keys(GO_ONLY_KEYS)) {
      const path = dotted.split(".");
      let obj: Record<string, unknown> = { [path[path.length - 1]!]: "legacy" };
      for (let i = path.length - 2; i >= 0; i--) obj = { [path[i]!]: obj };
      doc = merge(doc, obj);
    }
    doc = merge(doc, { saml: { idp: { skipSignatureCheck: false } } });
    const { warnings } = await loadDoc(doc);
    expect(Object.keys(GO_ONLY_KEYS)).toHaveLength(25);
    for (const dotted of [...Object.keys(GO_ONLY_KEYS), "saml.idp.skipSignatureCheck"]) {
      expect(warnings.filter((w) => w.startsWith(`config: ${dotted}: ignored`))).toHaveLength(1);
    }
    expect(warnings).toHaveLength(26);
  });

  test("idp.skipSignatureCheck: true is refused", async () => {
    const msg = await refusal(() => loadDoc(merge(base, { saml: { idp: { skipSignatureCheck: true } } })));
    expect(msg).toContain("config: saml.idp.skipSignatureCheck: true is refused");
  });

  test('idp.skipSignatureCheck: "false" (a string) is refused', async () => {
    const msg = await refusal(() => loadDoc(merge(base, { saml: { idp: { skipSignatureCheck: "false" } } })));
    expect(msg).toContain("config: saml.idp.skipSignatureCheck:");
  });
});

describe("${VAR} expansion", () => {
  const cases: [string, string, Record<string, string>, string][] = [
    ["set variable", "${AUD}", { AUD: "aud-1" }, "aud-1"],
    ["default when unset", "${AUD:-fallback}", {}, "fallback"],
    ["default when empty", "${AUD:-fallback}", { AUD: "" }, "fallback"],
    ["no default when set", "${AUD:-fallback}", { AUD: "x" }, "x"],
    ["unset without default → empty", "a${NOPE}b", {}, "ab"],
    ["$$ → $", "a$$b", {}, "a$b"],
    ["$${VAR} stays literal", "a$${AUD}", { AUD: "x" }, "a${AUD}"],
    ["bare $VAR untouched", "p$AUDq", { AUD: "x" }, "p$AUDq"],
    ["lone $ untouched", "cost$", {}, "cost$"],
    ["several in one value", "${A}-${B:-b}", { A: "a" }, "a-b"],
  ];
  test.each(cases)("%s", async (_name, raw, env, expected) => {
    const { config } = await loadDoc(merge(base, { redisUsername: raw }), { env });
    expect(config.redisUsername).toBe(expected);
  });

  test("expansion also applies inside lists", async () => {
    const { config } = await loadDoc(merge(base, { http: { trustedProxies: ["${NET}", "10.0.0.0/8"] } }), {
      env: { NET: "192.168.0.0/16" },
    });
    expect(config.http.trustedProxies).toEqual(["192.168.0.0/16", "10.0.0.0/8"]);
  });

  test("keys are not expanded", async () => {
    const msg = await refusal(() => loadDoc({ ...base, "${KEY}": 1 }, { env: { KEY: "port" } }));
    expect(msg).toContain("config: ${KEY}: unknown key");
  });

  test("${issuerBaseUrl} is reserved: the final issuer, never the environment", async () => {
    const { config } = await loadDoc(
      merge(base, { saml: { sp: { entityID: "${issuerBaseUrl}/sp", acsURL: "${issuerBaseUrl}/saml/acs" } } }),
      { env: { issuerBaseUrl: "https://evil.example", ISSUER_BASE_URL: "https://login.example.com/" } },
    );
    expect(config.issuerBaseUrl).toBe("https://login.example.com");
    expect(config.saml.sp.entityID).toBe("https://login.example.com/sp");
    expect(config.saml.sp.acsURL).toBe("https://login.example.com/saml/acs");
  });

  test.each([
    ["unterminated", "${AUD", 'config: redisUsername: unterminated "${"'],
    ["invalid name", "${1X}", "config: redisUsername: invalid expression"],
    ["reserved with default", "${issuerBaseUrl:-x}", "config: redisUsername: ${issuerBaseUrl} is reserved"],
  ])("refused: %s", async (_n, raw, message) => {
    const msg = await refusal(() => loadDoc(merge(base, { redisUsername: raw })));
    expect(msg).toContain(message);
  });

  test("an expanded value for an int/bool/list key is converted with the environment rules", async () => {
    const { config } = await loadDoc(
      merge(base, {
        port: "${P:-9090}",
        redisTls: "${TLS}",
        redisCluster: "${NODES}",
        redisDb: "${DB}",
        rateLimits: { enabled: "${RL:-false}" },
      }),
      { env: { TLS: "true", NODES: "a:1,b:2" } },
    );
    expect(config.port).toBe(9090);
    expect(config.redisTls).toBe(true);
    expect(config.redisCluster).toEqual(["a:1", "b:2"]);
    expect(config.redisDb).toBe(0);
    expect(config.rateLimits.enabled).toBe(false);
  });

  test.each([
    [
      "bool from ${VAR} must be true/false",
      { admin: { requireAdminToken: "${X}" } },
      { X: "yes" },
      "config: admin.requireAdminToken:",
    ],
    ["int from ${VAR} must be an integer", { port: "${X}" }, { X: "80a" }, "config: port:"],
    [
      'a quoted "false" is never a boolean',
      { saml: { acs: { cookieSecure: "false" } } },
      {},
      "config: saml.acs.cookieSecure:",
    ],
    ['a quoted "8080" is not an int', { port: "8080" }, {}, "config: port:"],
  ])("%s", async (_n, extra, env, message) => {
    const msg = await refusal(() => loadDoc(merge(base, extra), { env }));
    expect(msg).toContain(message);
  });
});

describe("environment overrides", () => {
  test("Go-compatible names", async () => {
    const { config } = await loadDoc(
      { ...base, port: 1000, logging: { level: "info" } },
      {
        env: {
          PORT: "2000",
          REDIS_CLUSTER: "n1:7000, n2:7000",
          REDIS_TLS: "true",
          REDIS_USERNAME: "svc",
          REDIS_PASSWORD: "pw",
          LOG_LEVEL: "debug",
          DEFAULT_AUDIENCE: "aud-x",
          JWKS_KEY_ID: "kid-env",
          TIKTI_DATA_DIR: "/var/lib/tikti",
          ISSUER_BASE_URL: "https://env.example.com",
        },
      },
    );
    expect(config.port).toBe(2000);
    expect(config.redisCluster).toEqual(["n1:7000", "n2:7000"]);
    expect(config.redisTls).toBe(true);
    expect(config.redisUsername).toBe("svc");
    expect(config.redisPassword).toBe("pw");
    expect(config.logging.level).toBe("debug");
    expect(config.defaultAudience).toBe("aud-x");
    expect(config.jwksKeyId).toBe("kid-env");
    expect(config.dataDir).toBe("/var/lib/tikti");
    expect(config.issuerBaseUrl).toBe("https://env.example.com");
  });

  test("generic TIKTI_ names for nested keys, lists as JSON or commas, records as JSON", async () => {
    const { config, warnings } = await loadDoc(base, {
      env: {
        TIKTI_SAML__SP__CLOCK_SKEW_SECONDS: "60",
        TIKTI_HTTP__ALLOWED_ORIGINS: '["https://App.Example.com"]',
        TIKTI_HTTP__TRUSTED_PROXIES: "10.0.0.0/8,fd00::/8",
        TIKTI_RATE_LIMITS__SIGN_IN_IP__LIMIT: "7",
        TIKTI_ACCOUNTS__PASSWORD_HASH__SCRYPT__LN: "16",
        TIKTI_AUTHORIZATION__IMPLICIT_ROLE_PERMISSIONS: '{"R1":["s:1"]}',
        TIKTI_SAML__ACS__COOKIE_HTTP_ONLY: "false",
        TIKTI_ADMIN__REQUIRE_ADMIN_TOKEN: "true",
        TIKTI_JWKS_KEYS: JSON.stringify([{ kid: "old", publicKey: keys.rsa.publicKey }]),
        TIKTI_DEV_MODE: "false",
      },
    });
    expect(config.saml.sp.clockSkewSeconds).toBe(60);
    expect(config.http.allowedOrigins).toEqual(["https://app.example.com"]);
    expect(config.http.trustedProxies).toEqual(["10.0.0.0/8", "fd00::/8"]);
    expect(config.rateLimits.signInIp).toEqual({ limit: 7, windowSeconds: 60 });
    expect(config.accounts.passwordHash.scrypt.ln).toBe(16);
    expect(config.authorization.implicitRolePermissions).toEqual({ R1: ["s:1"] });
    expect(config.saml.acs.cookieHTTPOnly).toBe(false);
    expect(config.admin.requireAdminToken).toBe(true);
    expect(config.jwksKeys).toEqual([{ kid: "old", publicKey: keys.rsa.publicKey }]);
    expect(warnings).toEqual([]);
  });

  test.each([
    [["saml", "sp", "clockSkewSeconds"], "TIKTI_SAML__SP__CLOCK_SKEW_SECONDS"],
    [["saml", "sp", "entityID"], "TIKTI_SAML__SP__ENTITY_ID"],
    [["saml", "sp", "acsURL"], "TIKTI_SAML__SP__ACS_URL"],
    [["saml", "sp", "requestTTLSeconds"], "TIKTI_SAML__SP__REQUEST_TTL_SECONDS"],
    [["saml", "acs", "cookieHTTPOnly"], "TIKTI_SAML__ACS__COOKIE_HTTP_ONLY"],
    [["saml", "acs", "sessionTTL"], "TIKTI_SAML__ACS__SESSION_TTL"],
    [["accounts", "passwordHash", "argon2id", "m"], "TIKTI_ACCOUNTS__PASSWORD_HASH__ARGON2ID__M"],
    [["rateLimits", "oobSignInIp", "windowSeconds"], "TIKTI_RATE_LIMITS__OOB_SIGN_IN_IP__WINDOW_SECONDS"],
    [["dataDir"], "TIKTI_DATA_DIR"],
  ])("genericEnvName(%j) = %s", (path, name) => {
    expect(genericEnvName(path)).toBe(name);
  });

  test("environment beats YAML; an empty variable counts as unset", async () => {
    const { config } = await loadDoc(
      { ...base, port: 1000, redisUsername: "yaml" },
      { env: { PORT: "2000", REDIS_USERNAME: "" } },
    );
    expect(config.port).toBe(2000);
    expect(config.redisUsername).toBe("yaml");
  });

  test("Go and generic names with the same value are accepted", async () => {
    const { config } = await loadDoc(base, { env: { PORT: "9000", TIKTI_PORT: "9000" } });
    expect(config.port).toBe(9000);
  });

  test.each([
    [
      "conflicting Go and generic values",
      { PORT: "9000", TIKTI_PORT: "9001" },
      "config: port: PORT and TIKTI_PORT are both set with different values",
    ],
    [
      "conflicting log levels",
      { LOG_LEVEL: "debug", TIKTI_LOGGING__LEVEL: "warn" },
      "config: logging.level: LOG_LEVEL and TIKTI_LOGGING__LEVEL",
    ],
    ["int with letters", { PORT: "80a" }, "config: port: PORT: expected an integer"],
    [
      "int with a fraction",
      { TIKTI_REDIS_DB: "1.5" },
      "config: redisDb: TIKTI_REDIS_DB: expected an integer",
    ],
    ["bool yes", { REDIS_TLS: "yes" }, "config: redisTls: REDIS_TLS: expected true or false"],
    [
      "bool upper-case",
      { TIKTI_SAML__ENABLED: "TRUE" },
      "config: saml.enabled: TIKTI_SAML__ENABLED: expected true or false",
    ],
    [
      "bad JSON list",
      { TIKTI_HTTP__ALLOWED_ORIGINS: "[nope" },
      "config: http.allowedOrigins: TIKTI_HTTP__ALLOWED_ORIGINS: invalid JSON array",
    ],
    ["JSON list of numbers", { TIKTI_HTTP__TRUSTED_PROXIES: "[1,2]" }, "expected a JSON array of strings"],
    [
      "bad JSON record",
      { TIKTI_AUTHORIZATION__IMPLICIT_ROLE_PERMISSIONS: "{" },
      "config: authorization.implicitRolePermissions: TIKTI_AUTHORIZATION__IMPLICIT_ROLE_PERMISSIONS: invalid JSON",
    ],
    [
      "range still enforced",
      { TIKTI_SAML__SP__CLOCK_SKEW_SECONDS: "301" },
      "config: saml.sp.clockSkewSeconds: must be at most 300",
    ],
  ])("refused: %s", async (_n, env, message) => {
    const msg = await refusal(() => loadDoc(base, { env }));
    expect(msg).toContain(message);
  });

  test("an unknown TIKTI_ variable is a warning", async () => {
    const { warnings } = await loadDoc(base, {
      env: { TIKTI_SAML__SP__CLOCK_SKEW: "1", TIKTI_PROFILE: "x" },
    });
    expect(warnings).toEqual([
      "config: environment variable TIKTI_SAML__SP__CLOCK_SKEW names no configuration key; ignored",
    ]);
  });
});

describe("secret files", () => {
  const withoutSecrets = () => {
    const { jwtSecret: _j, apiKey: _a, jwksPrivateKey: _k, ...rest } = base;
    return rest;
  };

  test("all four *_FILE variables, trailing whitespace removed, relative paths from cwd", async () => {
    const { config, warnings } = await loadDoc(withoutSecrets(), {
      env: {
        JWT_SECRET_FILE: "/run/secrets/jwt",
        API_KEY_FILE: "secrets/api",
        REDIS_PASSWORD_FILE: "/run/secrets/redis",
        JWKS_PRIVATE_KEY_FILE: "/run/secrets/jwks.pem",
      },
      files: {
        "/run/secrets/jwt": `${JWT_SECRET} \n\n`,
        "/srv/secrets/api": `${API_KEY}\r\n`,
        "/run/secrets/redis": " pass word\t\n",
        "/run/secrets/jwks.pem": keys.rsa.privateKey,
      },
    });
    expect(config.jwtSecret).toBe(JWT_SECRET);
    expect(config.apiKey).toBe(API_KEY);
    expect(config.redisPassword).toBe(" pass word");
    expect(config.jwksPrivateKey).toBe(keys.rsa.privateKey.trimEnd());
    expect(warnings).toEqual([]);
  });

  test("a secret file beats the YAML value (precedence default < YAML < env < file)", async () => {
    const other = "0f7e1d2c3b4a59687766554433221100ffeeddccbbaa9988";
    const { config } = await loadDoc(base, {
      env: { JWT_SECRET_FILE: "/s/jwt" },
      files: { "/s/jwt": other },
    });
    expect(config.jwtSecret).toBe(other);
  });

  test("a group/world-readable file is a warning", async () => {
    const { warnings } = await loadDoc(withoutSecrets(), {
      env: { JWT_SECRET_FILE: "/s/jwt", API_KEY: API_KEY, JWKS_PRIVATE_KEY: keys.rsa.privateKey },
      files: { "/s/jwt": { data: JWT_SECRET, mode: 0o644 } },
    });
    expect(warnings).toEqual([
      "config: jwtSecret: JWT_SECRET_FILE /s/jwt is readable by group or others; use mode 0400 or 0600",
    ]);
  });

  test.each([
    ["missing file", {}, [], "config: apiKey: API_KEY_FILE /s/api: file not found"],
    ["a directory", {}, ["/s/api"], "config: apiKey: API_KEY_FILE /s/api: not a regular file"],
    ["empty file", { "/s/api": "" }, [], "config: apiKey: API_KEY_FILE /s/api: file is empty"],
    [
      "whitespace only",
      { "/s/api": " \n\t\n" },
      [],
      "config: apiKey: API_KEY_FILE /s/api: file is empty after removing trailing whitespace",
    ],
    [
      "larger than 1 MiB",
      { "/s/api": "x".repeat(1024 * 1024 + 1) },
      [],
      "config: apiKey: API_KEY_FILE /s/api: file is larger than 1 MiB",
    ],
  ])("refused: %s", async (_n, files, dirs, message) => {
    const io = memoryIO({
      env: { API_KEY_FILE: "/s/api" },
      files: { "/etc/tikti.yaml": JSON.stringify(base), ...files },
      dirs,
    });
    const msg = await refusal(() => loadConfig(io, { configPath: "/etc/tikti.yaml" }));
    expect(msg).toContain(message);
  });

  test("exactly 1 MiB is accepted", async () => {
    const { config } = await loadDoc(base, {
      env: { API_KEY_FILE: "/s/api" },
      // A random 64-char hex string repeated to 1 MiB: the size is the point, not the entropy floor.
      files: {
        "/s/api": API_KEY.padEnd(64, "0")
          .slice(0, 64)
          .repeat(16 * 1024),
      },
    });
    expect(config.apiKey).toHaveLength(1024 * 1024);
  });

  test.each([
    ["JWT_SECRET", "JWT_SECRET_FILE", "jwtSecret"],
    ["API_KEY", "API_KEY_FILE", "apiKey"],
    ["REDIS_PASSWORD", "REDIS_PASSWORD_FILE", "redisPassword"],
    ["JWKS_PRIVATE_KEY", "JWKS_PRIVATE_KEY_FILE", "jwksPrivateKey"],
    ["TIKTI_API_KEY", "API_KEY_FILE", "apiKey"],
  ])("both %s and %s → refusal", async (direct, fileVar, key) => {
    const msg = await refusal(() =>
      loadDoc(base, {
        env: { [direct]: "x".repeat(40), [fileVar]: "/s/f" },
        files: { "/s/f": "y".repeat(40) },
      }),
    );
    expect(msg).toContain(`config: ${key}: both ${direct} and ${fileVar} are set`);
  });
});

describe("configuration file", () => {
  test("-f naming a missing file is a refusal (no quick-start)", async () => {
    const io = memoryIO();
    const msg = await refusal(() => loadConfig(io, { configPath: "conf/missing.yaml" }));
    expect(msg).toBe("config: conf/missing.yaml: configuration file not found");
  });

  test("-f naming a directory is a refusal", async () => {
    const io = memoryIO({ dirs: ["/srv/conf"] });
    const msg = await refusal(() => loadConfig(io, { configPath: "conf" }));
    expect(msg).toBe("config: conf: not a regular file");
  });

  test("the default file config/tikti.yaml is used when present", async () => {
    const io = memoryIO({ files: { "config/tikti.yaml": JSON.stringify({ ...base, port: 7000 }) } });
    const loaded = await loadConfig(io, {});
    expect(loaded.config.port).toBe(7000);
    expect(loaded.configPath).toBe("/srv/config/tikti.yaml");
    expect(loaded.devQuickStart).toBe(false);
  });

  test("no file but a Redis variable → configuration from the environment only", async () => {
    const io = memoryIO({
      env: {
        REDIS_ADDR: "redis:6379",
        ISSUER_BASE_URL: "https://id.example.com",
        JWT_SECRET,
        API_KEY,
        JWKS_PRIVATE_KEY: keys.rsa.privateKey,
      },
    });
    const loaded = await loadConfig(io, {});
    expect(loaded.devQuickStart).toBe(false);
    expect(loaded.configPath).toBeNull();
    expect(loaded.config.redisAddr).toBe("redis:6379");
    expect(loaded.config.devMode).toBe(false);
    expect(io.files.size).toBe(0);
  });

  test("no file but REDIS_URL and no secrets → refused (never a quick-start)", async () => {
    const msg = await refusal(() => loadConfig(memoryIO({ env: { REDIS_URL: "redis://r:6379" } }), {}));
    expect(msg).toContain("config: jwtSecret: required");
    expect(msg).toContain("config: apiKey: must not be empty");
    expect(msg).toContain("config: issuerBaseUrl: required");
  });

  test.each([
    ["invalid YAML", "port: [1, 2", "config: /etc/tikti.yaml: invalid YAML"],
    ["duplicate keys", "port: 1\nport: 2\n", "config: /etc/tikti.yaml: invalid YAML"],
    ["a list at the top", "- a\n- b\n", "config: /etc/tikti.yaml: the top level must be a mapping"],
    ["a scalar at the top", "hello\n", "config: /etc/tikti.yaml: the top level must be a mapping"],
  ])("refused: %s", async (_n, text, message) => {
    const msg = await refusal(() => loadDoc(text));
    expect(msg).toContain(message);
  });

  test("YAML 1.2: yes/no/on are strings, not booleans", async () => {
    const msg = await refusal(() => loadDoc(`${JSON.stringify(base).slice(0, -1)}, "redisTls": yes}`));
    expect(msg).toContain("config: redisTls: expected a boolean");
  });

  test("an empty file gives the defaults (and refuses the missing secrets)", async () => {
    const msg = await refusal(() => loadDoc(""));
    expect(msg.split("\n")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config: issuerBaseUrl: required/),
        expect.stringMatching(/^config: jwtSecret: required/),
        expect.stringMatching(/^config: jwksPrivateKey: required/),
      ]),
    );
  });
});

describe("config/tikti.example.yaml (docs/spec/operations.md §2.6, ADR 0004)", () => {
  test("loads with the environment and secret files it documents", async () => {
    const example = readFileSync(join(import.meta.dirname, "../../config/tikti.example.yaml"), "utf8");
    const { config, warnings } = await loadDoc(example, {
      env: {
        REDIS_ADDR: "redis:6379",
        ISSUER_BASE_URL: "https://id.example.com/",
        JWT_SECRET_FILE: "/run/secrets/jwt_secret",
        API_KEY_FILE: "/run/secrets/api_key",
        JWKS_PRIVATE_KEY_FILE: "/run/secrets/jwks.pem",
      },
      files: {
        "/run/secrets/jwt_secret": JWT_SECRET,
        "/run/secrets/api_key": API_KEY,
        "/run/secrets/jwks.pem": keys.rsaPkcs1.privateKey,
      },
    });
    expect(warnings).toEqual([]);
    expect(config.redisAddr).toBe("redis:6379");
    expect(config.redisPassword).toBe("");
    expect(config.issuerBaseUrl).toBe("https://id.example.com");
    expect(config.jwksKeyId).toBe("tikti-local-1");
    expect(config.http.trustedProxies).toEqual(["10.0.0.0/8"]);
    expect(config.saml.sp.entityID).toBe("https://id.example.com/saml");
    expect(config.saml.acs.cookieName).toBe("tikti_idt");
  });
});
