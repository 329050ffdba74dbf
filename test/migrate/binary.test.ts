/**
 * The compiled `tikti-migrate` (Bun, `bun build --compile` by scripts/compile.mjs): a full run on a
 * Go keyspace in a real redis-server, secrets kept out of the output, exit codes of docs/spec/cli.md §9.5,
 * and the embedded store's single-process rule (docs/spec/storage.md §7.5) against a running server.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { createRepos } from "../../src/store/repos/index.ts";
import { buildTestApp } from "../support/app.ts";
import { rawClient, startRedis, waitForStore } from "../support/redis-server.ts";
import { repoRoot, startTikti } from "../support/tikti-process.ts";
import { DEFAULT_TENANT, EXPECTED_COUNTS, USERS, writeGoFixtures } from "./go-fixtures.ts";
import { blockCounts, fixedClock } from "./support.ts";

// A private output dir: test/runtime/binary.test.ts compiles into dist/ at the same time.
const outDir = mkdtempSync(join(tmpdir(), "tikti-migrate-bin-"));
const binary = join(outDir, "tikti-migrate");

beforeAll(() => {
  const r = spawnSync(process.execPath, [join(repoRoot, "scripts/compile.mjs"), "--outdir", outDir], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface BinRun {
  code: number | null;
  stdout: string[];
  stderr: string;
}

/** Runs the binary with a clean environment (no REDIS_* of the developer's shell). */
function runBinary(args: string[], env: Record<string, string> = {}, cwd = outDir): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: outDir, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out.split("\n").filter((l) => l !== ""), stderr: err });
    });
  });
}

describe("dist/tikti-migrate against Redis", () => {
  it("migrates a Go keyspace; every user then signs in with the original password", async () => {
    const redis = await startRedis();
    let kv: KV | undefined;
    try {
      kv = createRedisStore({ addr: redis.addr, logger: silentLogger });
      await waitForStore(kv);
      await writeGoFixtures(kv);
      const r = await runBinary(["--redis-addr", redis.addr, "--default-tenant", DEFAULT_TENANT]);
      expect(r.code, `${r.stdout.join("\n")}\n${r.stderr}`).toBe(0);
      expect(blockCounts(r.stdout, "0001_users_v2")).toEqual({
        "legacy users": 5,
        migrated: 5,
        skipped: 0,
        conflicts: 0,
        "memberships created": 3,
        errors: 0,
      });
      expect(blockCounts(r.stdout, "0007_saml_user_fields").updated).toBe(EXPECTED_COUNTS["0007"].updated);
      expect(r.stdout.at(-1)).toBe("completed: 4 applied, 0 already applied");

      const repos = createRepos({ kv, logger: silentLogger, clock: fixedClock, oobCodeTtlSeconds: 900 });
      const hasher = createInProcessPasswordHasher({
        scheme: "argon2id",
        bcryptCost: 10,
        scrypt: { ln: 15, r: 8, p: 1 },
        argon2id: { m: 19456, t: 2, p: 1 },
      });
      for (const u of USERS) {
        const found = await repos.users.findByEmail(u.storedEmail);
        expect(found?.localId, u.label).toBe(u.id);
        expect(await hasher.verify(u.password, found!.password), u.label).toBe(true);
      }
      const t = await buildTestApp({ store: kv, config: { rateLimits: { enabled: false } } });
      if (!t.app.routeSpecs.some((s) => s.path === "/accounts/signIn")) {
        throw new Error(
          "POST /accounts/signIn is not registered in createApp yet; this check passes once it is",
        );
      }
      for (const u of USERS) {
        const res = await t.call("/accounts/signIn", {
          json: { email: u.storedEmail, password: u.password },
        });
        expect(res.status, u.label).toBe(200);
      }

      // A second run of the binary changes nothing and says so.
      const again = await runBinary(["--redis-addr", redis.addr]);
      expect(again.code).toBe(0);
      expect(again.stdout.at(-1)).toBe("nothing to do: all selected migrations are already applied");
      const list = await runBinary(["--redis-addr", redis.addr, "--list"]);
      expect(list.stdout.every((l) => /\s+applied \d{4}-\d\d-\d\dT/.test(l))).toBe(true);
      expect(list.stdout).toHaveLength(4);
    } finally {
      await kv?.close();
      await redis.stop();
    }
  });

  it("never prints the Redis password (URL, flag or REDIS_PASSWORD_FILE)", async () => {
    const secret = "s3cr3t-Pa55word-xyz";
    const redis = await startRedis({ password: secret });
    const dir = mkdtempSync(join(tmpdir(), "tikti-secret-"));
    try {
      const url = `redis://:${secret}@${redis.host}:${redis.port}/0`;
      const viaUrl = await runBinary(["--redis-url", url, "--list"]);
      expect(viaUrl.code, viaUrl.stderr).toBe(0);
      expect(viaUrl.stderr).toContain(`redis://:****@${redis.host}:${redis.port}/0`);

      const viaFlag = await runBinary(["--redis-addr", redis.addr, "--redis-password", secret, "--dry-run"]);
      expect(viaFlag.code, viaFlag.stderr).toBe(0);
      expect(viaFlag.stdout.at(-1)).toBe("dry-run: no writes performed");

      const file = join(dir, "redis_password");
      spawnSync("sh", ["-c", `printf '%s\\n' '${secret}' > '${file}'`]);
      const viaFile = await runBinary(["--redis-addr", redis.addr, "--list"], { REDIS_PASSWORD_FILE: file });
      expect(viaFile.code, viaFile.stderr).toBe(0);

      const wrong = `${secret}-wrong`;
      const refused = await runBinary(
        ["--redis-url", `redis://:${wrong}@${redis.host}:${redis.port}`, "--list"],
        {},
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/error: redis redis:\/\/:\*\*\*\*@\S+: redis refused the credentials/);

      for (const r of [viaUrl, viaFlag, viaFile, refused]) {
        const all = `${r.stdout.join("\n")}\n${r.stderr}`;
        expect(all).not.toContain(secret);
      }
      // Nothing was written by any of these runs (the dry run included).
      const c = await rawClient(redis, secret);
      expect(await c.dbSize()).toBe(0);
      c.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await redis.stop();
    }
  });

  it("configuration errors exit 3; --help and --version exit 0", async () => {
    const several = await runBinary(["--redis-addr", "127.0.0.1:1", "--data-dir", outDir]);
    expect(several.code).toBe(3);
    expect(several.stderr).toContain("several storage options: --redis-addr, --data-dir");
    const unknown = await runBinary(["--bogus"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("unknown flag --bogus");
    const badDb = await runBinary(["--redis-db", "-1"]);
    expect(badDb.code).toBe(3);
    const badConfig = await runBinary(["--config", join(outDir, "missing.yaml")]);
    expect(badConfig.code).toBe(3);
    const help = await runBinary(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.join("\n")).toContain("--default-tenant");
    const version = await runBinary(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout[0]).toMatch(/^tikti-migrate \d+\.\d+\.\d+ \(/);
  });
});

describe("dist/tikti-migrate on the embedded store", () => {
  it("refuses while the server holds the data dir (naming the lock file); runs once it stopped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-migrate-embedded-"));
    const dataDir = join(dir, "data");
    try {
      const server = await startTikti({ runtime: "node", dir });
      try {
        const refused = await runBinary(["--data-dir", dataDir]);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`lock file ${join(dataDir, "tikti.db")} is held by another process`);
        // Also when the store is chosen by the server's own config file.
        const viaConfig = await runBinary(["--config", server.configFile], {}, dir);
        expect(viaConfig.code).toBe(1);
        expect(viaConfig.stderr).toContain(join(dataDir, "tikti.db"));
      } finally {
        await server.stop();
      }
      const r = await runBinary(["--config", join(dir, "tikti.yaml")], {}, dir);
      expect(r.code, `${r.stdout.join("\n")}\n${r.stderr}`).toBe(0);
      // The server created this store, so it recorded the migrations (docs/migration.md).
      expect(r.stdout.at(-1)).toBe("nothing to do: all selected migrations are already applied");
      const list = await runBinary(["--data-dir", dataDir, "--list"]);
      expect(list.stdout.filter((l) => / applied /.test(l))).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a --data-dir that holds no store (a typo must not create and 'migrate' an empty one)", async () => {
    const r = await runBinary(["--data-dir", join(outDir, "nope")]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("holds no embedded store (tikti.db)");
  });
});
