import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../../scripts/rt.mjs";
import { ConfigError, loadConfig } from "../../../src/config/load.ts";
import { createConfigIO } from "../../../src/runtime/config-io.ts";
import { validateSamlKeyFiles } from "../../../src/saml/sp-keys.ts";
import { testSigningPem } from "../../support/app.ts";
import { makeCert, rsaKey } from "../metadata/helpers.ts";

const root = join(import.meta.dirname, "../../..");

describe("SAML startup refusals for key files (docs/spec/operations.md §4)", () => {
  let dir: string;
  let jwks: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tikti-saml-refusals-"));
    jwks = await testSigningPem();
    const write = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 });
    const good = await makeCert({ key: await rsaKey("sp-current"), cn: "sp" });
    await write("sp.key", good.key.pem);
    await write("sp.crt", good.pem);
    const other = await makeCert({ key: await rsaKey("other"), cn: "other" });
    await write("other.crt", other.pem);
    await write("other.key", other.key.pem);
    const expired = await makeCert({
      key: good.key,
      cn: "expired",
      notBefore: Date.now() - 400 * 86_400_000,
      notAfter: Date.now() - 86_400_000,
    });
    await write("expired.crt", expired.pem);
    const small = await makeCert({ key: await rsaKey("small", 1024), cn: "small" });
    await write("small.key", small.key.pem);
    await write("small.crt", small.pem);
    await write("garbage.key", "not a key\n");
    // A PKCS#1 ("BEGIN RSA PRIVATE KEY") pair made by openssl.
    execFileSync("openssl", ["genrsa", "-traditional", "-out", join(dir, "pkcs1.key"), "2048"], {
      stdio: "ignore",
    });
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-key",
        join(dir, "pkcs1.key"),
        "-out",
        join(dir, "pkcs1.crt"),
        "-days",
        "30",
        "-subj",
        "/CN=pkcs1",
      ],
      {
        stdio: "ignore",
      },
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function writeConfig(name: string, sp: Record<string, unknown>, enabled = true): Promise<string> {
    const file = join(dir, name);
    await writeFile(
      file,
      stringify({
        issuerBaseUrl: "https://id.example.com",
        // Random: outside dev mode low-entropy secrets are refused (docs/adr/0015).
        jwtSecret: "5c0b1e8d7a2f49e6b3c81d07f5a9e2c4d6b8f0a1c3e5d7f9",
        apiKey: "e2a94c7f18b3d60a5f9c2e7b41d8a36c",
        jwksPrivateKey: jwks,
        redisAddr: "127.0.0.1:6379",
        saml: {
          enabled,
          sp: {
            signingKeyPath: "sp.key",
            signingCertPath: "sp.crt",
            nextSigningKeyPath: "none.key",
            nextSigningCertPath: "none.crt",
            ...sp,
          },
        },
      }),
    );
    return file;
  }

  async function load(sp: Record<string, unknown>, enabled = true) {
    const file = await writeConfig("tikti.yaml", sp, enabled);
    return loadConfig(createConfigIO({ env: {}, cwd: dir }), { configPath: file }, { validateSamlKeyFiles });
  }

  async function refusal(sp: Record<string, unknown>): Promise<string> {
    try {
      await load(sp);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error("configuration accepted");
  }

  it("accepts a matching, unexpired pair (PKCS#8 or PKCS#1) and a complete next pair", async () => {
    expect((await load({})).config.saml.enabled).toBe(true);
    expect(
      (await load({ signingKeyPath: "pkcs1.key", signingCertPath: "pkcs1.crt" })).config.saml.sp
        .signingKeyPath,
    ).toBe("pkcs1.key");
    await expect(
      load({ nextSigningKeyPath: "other.key", nextSigningCertPath: "other.crt" }),
    ).resolves.toBeDefined();
  });

  it("refuses unreadable, mismatched, expired and too-small pairs, naming the key", async () => {
    expect(await refusal({ signingKeyPath: "missing.key" })).toBe(
      `config: saml.sp.signingKeyPath: cannot read missing.key (ENOENT)`,
    );
    expect(await refusal({ signingKeyPath: "garbage.key" })).toBe(
      "config: saml.sp.signingKeyPath: garbage.key: not a PEM RSA private key",
    );
    expect(await refusal({ signingCertPath: "other.crt" })).toBe(
      "config: saml.sp.signingCertPath: other.crt: certificate does not match the private key",
    );
    expect(await refusal({ signingCertPath: "expired.crt" })).toMatch(
      /^config: saml\.sp\.signingCertPath: expired\.crt: certificate expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(await refusal({ signingKeyPath: "small.key", signingCertPath: "small.crt" })).toBe(
      "config: saml.sp.signingKeyPath: small.key: RSA key has 1024 bits; saml.sp.keyBits requires at least 2048",
    );
    expect(await refusal({ keyBits: 3072 })).toContain(
      "RSA key has 2048 bits; saml.sp.keyBits requires at least 3072",
    );
  });

  it("checks a separate encryption pair and refuses a half-installed next pair", async () => {
    expect(await refusal({ encryptionKeyPath: "other.key", encryptionCertPath: "missing.crt" })).toBe(
      "config: saml.sp.encryptionCertPath: cannot read missing.crt (ENOENT)",
    );
    expect(await refusal({ nextSigningKeyPath: "other.key", nextSigningCertPath: "missing.crt" })).toBe(
      "config: saml.sp.nextSigningCertPath: file not found while saml.sp.nextSigningKeyPath exists (install both or neither)",
    );
    expect(await refusal({ nextSigningKeyPath: "other.key", nextSigningCertPath: "sp.crt" })).toBe(
      "config: saml.sp.nextSigningCertPath: sp.crt: certificate does not match the private key",
    );
  });

  it("does not read key files while SAML is disabled", async () => {
    await expect(load({ signingKeyPath: "missing.key" }, false)).resolves.toBeDefined();
  });

  it("tikti --check exits 2 with the refusal (main.ts passes the hook)", async () => {
    const file = await writeConfig("check.yaml", { signingCertPath: "other.crt" });
    const good = await writeConfig("good.yaml", {});
    const r = spawnSync(
      runtimeBinary("node") as string,
      [join(root, "src/runtime/node.ts"), "-f", file, "--check"],
      {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "config: saml.sp.signingCertPath: other.crt: certificate does not match the private key",
    );
    const ok = spawnSync(
      runtimeBinary("node") as string,
      [join(root, "src/runtime/node.ts"), "-f", good, "--check"],
      {
        cwd: dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    expect(ok.stdout).toBe("config ok\n");
    expect(ok.status).toBe(0);
  });
});
