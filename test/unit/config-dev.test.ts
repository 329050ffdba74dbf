// Development quick-start (docs/spec/operations.md §3) with the real ConfigIO in a temp directory.
import { createPrivateKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { devApiKeyNotice } from "../../src/config/dev.ts";
import { loadConfig } from "../../src/config/load.ts";
import { checkRsaKeyPem, secretStrengthProblem } from "../../src/config/validate.ts";
import { createConfigIO } from "../../src/runtime/config-io.ts";
import { memoryIO, refusal } from "./config-support.ts";

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "tikti-config-"));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const text = async (p: string) => (await readFile(p, "utf8")).trimEnd();
const b64urlBytes = (s: string) => Buffer.from(s, "base64url").length;

describe("first start", () => {
  test("generates the secrets with mode 0600 in 0700 directories and returns the API key once", async () => {
    const loaded = await loadConfig(createConfigIO({ cwd, env: {} }), {});
    const dev = join(cwd, "data", "dev");

    expect(loaded.devQuickStart).toBe(true);
    expect(loaded.configPath).toBeNull();
    expect(await mode(join(cwd, "data"))).toBe(0o700);
    expect(await mode(dev)).toBe(0o700);
    for (const f of ["api_key", "jwt_secret", "jwks_private_key.pem", "jwks_key_id"]) {
      expect(await mode(join(dev, f))).toBe(0o600);
    }

    const apiKey = await text(join(dev, "api_key"));
    const jwtSecret = await text(join(dev, "jwt_secret"));
    const kid = await text(join(dev, "jwks_key_id"));
    const pem = await text(join(dev, "jwks_private_key.pem"));
    expect(apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b64urlBytes(apiKey)).toBe(32);
    expect(jwtSecret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(b64urlBytes(jwtSecret)).toBe(48);
    // The quick-start's secrets meet the production floor too (docs/adr/0015), and raise no warning.
    expect(secretStrengthProblem([...apiKey], "characters")).toBeNull();
    expect(secretStrengthProblem([...new TextEncoder().encode(jwtSecret)], "bytes")).toBeNull();
    expect(loaded.warnings.filter((w) => /apiKey|jwtSecret/.test(w))).toEqual([]);
    expect(kid).toMatch(/^dev-[0-9a-f]{8}$/);
    expect(pem.startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
    expect(createPrivateKey(pem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(await checkRsaKeyPem(pem, "private")).toBeNull();

    expect(loaded.generatedApiKey).toBe(apiKey);
    const { config } = loaded;
    expect(config.apiKey).toBe(apiKey);
    expect(config.jwtSecret).toBe(jwtSecret);
    expect(config.jwksPrivateKey).toBe(pem);
    expect(config.jwksKeyId).toBe(kid);
    expect(config.devMode).toBe(true);
    expect(config.bindAddress).toBe("127.0.0.1");
    expect(config.port).toBe(8080);
    expect(config.issuerBaseUrl).toBe("http://127.0.0.1:8080");
    expect(config.saml.enabled).toBe(false);
    expect(config.accounts.signUp).toBe("open");
    expect(config.dataDir).toBe("./data");
    expect(config.redisAddr).toBe("");
    expect(devApiKeyNotice(config.dataDir, apiKey)).toBe(
      `tikti dev quick-start: API key ${apiKey} (stored in ./data/dev/api_key)`,
    );
  });

  test("an existing dataDir keeps its mode; dev/ is 0700", async () => {
    await mkdir(join(cwd, "data"), { mode: 0o755 });
    await loadConfig(createConfigIO({ cwd, env: {} }), {});
    expect(await mode(join(cwd, "data"))).toBe(0o755);
    expect(await mode(join(cwd, "data", "dev"))).toBe(0o700);
  });
});

describe("later starts", () => {
  test("reuse every secret and the kid; no API key to print", async () => {
    const io = createConfigIO({ cwd, env: {} });
    const first = await loadConfig(io, {});
    const second = await loadConfig(io, {});
    expect(second.devQuickStart).toBe(true);
    expect(second.generatedApiKey).toBeUndefined();
    expect(second.config.apiKey).toBe(first.config.apiKey);
    expect(second.config.jwtSecret).toBe(first.config.jwtSecret);
    expect(second.config.jwksPrivateKey).toBe(first.config.jwksPrivateKey);
    expect(second.config.jwksKeyId).toBe(first.config.jwksKeyId);
  });

  test("a deleted key is regenerated with a new kid; the API key is kept", async () => {
    const io = createConfigIO({ cwd, env: {} });
    const first = await loadConfig(io, {});
    await rm(join(cwd, "data", "dev", "jwks_private_key.pem"));
    const second = await loadConfig(io, {});
    expect(second.config.jwksPrivateKey).not.toBe(first.config.jwksPrivateKey);
    expect(second.config.jwksKeyId).not.toBe(first.config.jwksKeyId);
    expect(second.config.apiKey).toBe(first.config.apiKey);
    expect(second.generatedApiKey).toBeUndefined();
  });

  test("an emptied secret file is a refusal naming dataDir", async () => {
    const io = createConfigIO({ cwd, env: {} });
    await loadConfig(io, {});
    await writeFile(join(cwd, "data", "dev", "api_key"), "\n");
    const msg = await refusal(() => loadConfig(io, {}));
    expect(msg).toMatch(/^config: dataDir: .*api_key is empty/);
  });

  test("a group-readable secret file is a warning", async () => {
    const io = createConfigIO({ cwd, env: {} });
    await loadConfig(io, {});
    await writeFile(join(cwd, "data", "dev", "jwt_secret"), "x".repeat(64), { mode: 0o640 });
    const { chmod } = await import("node:fs/promises");
    await chmod(join(cwd, "data", "dev", "jwt_secret"), 0o640);
    const { warnings } = await loadConfig(io, {});
    expect(
      warnings.some((w) => /^config: dataDir: .*jwt_secret is accessible by group or others/.test(w)),
    ).toBe(true);
  });
});

describe("access-token algorithm in the quick-start (TIKTI_JWKS_ALGORITHM)", () => {
  test("one key kept per algorithm; switching keeps the others published, so older tokens still verify", async () => {
    const dev = join(cwd, "data", "dev");
    const rsa = (await loadConfig(createConfigIO({ cwd, env: {} }), {})).config;
    expect(rsa.jwksAlgorithm).toBe("RS256");
    expect(rsa.jwksKeys).toEqual([]);

    const es = (await loadConfig(createConfigIO({ cwd, env: { TIKTI_JWKS_ALGORITHM: "ES256" } }), {})).config;
    expect(es.jwksAlgorithm).toBe("ES256");
    expect(es.jwksPrivateKey).toBe(await text(join(dev, "jwks_private_key_es256.pem")));
    expect(es.jwksKeyId).toBe(await text(join(dev, "jwks_key_id_es256")));
    expect(await mode(join(dev, "jwks_private_key_es256.pem"))).toBe(0o600);
    expect(createPrivateKey(es.jwksPrivateKey).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(es.jwksKeyId).not.toBe(rsa.jwksKeyId);
    expect(es.jwksKeys).toEqual([{ kid: rsa.jwksKeyId, privateKey: rsa.jwksPrivateKey }]);

    const ed = (await loadConfig(createConfigIO({ cwd, env: { TIKTI_JWKS_ALGORITHM: "EdDSA" } }), {})).config;
    expect(ed.jwksAlgorithm).toBe("EdDSA");
    expect(createPrivateKey(ed.jwksPrivateKey).asymmetricKeyType).toBe("ed25519");
    expect(ed.jwksKeys.map((k) => k.kid).sort()).toEqual([rsa.jwksKeyId, es.jwksKeyId].sort());

    // Back to RS256 (and ES256): the same kept keys and kids, nothing regenerated.
    const back = (await loadConfig(createConfigIO({ cwd, env: {} }), {})).config;
    expect([back.jwksPrivateKey, back.jwksKeyId]).toEqual([rsa.jwksPrivateKey, rsa.jwksKeyId]);
    const esAgain = (await loadConfig(createConfigIO({ cwd, env: { TIKTI_JWKS_ALGORITHM: "ES256" } }), {}))
      .config;
    expect([esAgain.jwksPrivateKey, esAgain.jwksKeyId]).toEqual([es.jwksPrivateKey, es.jwksKeyId]);
  });

  test("an unknown algorithm is refused by name", async () => {
    const msg = await refusal(() =>
      loadConfig(createConfigIO({ cwd, env: { TIKTI_JWKS_ALGORITHM: "HS256" } }), {}),
    );
    expect(msg).toMatch(/^config: jwksAlgorithm: /);
  });
});

describe("environment in the quick-start", () => {
  test("PORT, LOG_LEVEL and TIKTI_DATA_DIR apply; the issuer follows the port", async () => {
    const dataDir = join(cwd, "custom");
    const { config } = await loadConfig(
      createConfigIO({ cwd, env: { PORT: "9123", LOG_LEVEL: "debug", TIKTI_DATA_DIR: dataDir } }),
      {},
    );
    expect(config.port).toBe(9123);
    expect(config.issuerBaseUrl).toBe("http://127.0.0.1:9123");
    expect(config.logging.level).toBe("debug");
    expect(config.dataDir).toBe(dataDir);
    expect(await mode(join(dataDir, "dev", "api_key"))).toBe(0o600);
  });

  test("ISSUER_BASE_URL wins over the derived issuer", async () => {
    const { config } = await loadConfig(
      createConfigIO({ cwd, env: { ISSUER_BASE_URL: "http://localhost:8080/" } }),
      {},
    );
    expect(config.issuerBaseUrl).toBe("http://localhost:8080");
  });

  test("an API_KEY override is used and the generated key is not printed", async () => {
    const { config, generatedApiKey } = await loadConfig(
      createConfigIO({ cwd, env: { API_KEY: "e".repeat(40) } }),
      {},
    );
    expect(config.apiKey).toBe("e".repeat(40));
    expect(generatedApiKey).toBeUndefined();
  });

  test("binding a non-loopback address in the quick-start is refused", async () => {
    const msg = await refusal(() =>
      loadConfig(createConfigIO({ cwd, env: { TIKTI_BIND_ADDRESS: "0.0.0.0" } }), {}),
    );
    expect(msg).toContain("config: bindAddress: must be a loopback address in devMode");
  });

  test("empty Redis variables still mean quick-start; a generic Redis name does not", async () => {
    const quick = await loadConfig(
      memoryIO({ env: { REDIS_ADDR: "", REDIS_URL: "", REDIS_CLUSTER: "" } }),
      {},
    );
    expect(quick.devQuickStart).toBe(true);
    const msg = await refusal(() => loadConfig(memoryIO({ env: { TIKTI_REDIS_ADDR: "r:6379" } }), {}));
    expect(msg).toContain("config: jwtSecret: required");
  });
});
