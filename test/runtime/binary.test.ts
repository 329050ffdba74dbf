import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer } from "../support/children.ts";
import { freePort } from "../support/ports.ts";
import { closedWithin, rawConnect, trickle } from "../support/raw-http.ts";
import { repoRoot, startTikti, type TiktiProcess, writeTestConfig } from "../support/tikti-process.ts";
import { smokeCases } from "./cases.ts";

// `npm run compile` builds the binaries this file runs: the same script users and the Dockerfile use.
beforeAll(() => {
  const r = spawnSync(process.execPath, [join(repoRoot, "scripts/compile.mjs")], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
}, 180_000);

const bin = (name: string) => join(repoRoot, "dist", name);

describe("dist/tikti on the embedded store", () => {
  let server: TiktiProcess;
  beforeAll(async () => {
    server = await startTikti({
      runtime: "binary",
      config: {
        http: {
          headersTimeoutSeconds: 1,
          maxHeaderBytes: 4096,
          shutdownDelaySeconds: 0,
          shutdownGraceSeconds: 5,
        },
      },
    });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
  });
  for (const c of smokeCases) it(c.name, () => c.run(server));

  // The binary deployments run (Docker image, systemd) keep the connection limits (ADR 0025);
  // test/runtime/http-limits.test.ts has the full set per runtime.
  it("cuts a header sent byte by byte at headersTimeoutSeconds and refuses one over maxHeaderBytes", async () => {
    const slow = await rawConnect(server.port);
    trickle(slow.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`, 100);
    const big = await rawConnect(server.port);
    big.socket.end(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(6 * 1024)}\r\n\r\n`);
    const t = await closedWithin(slow, 10);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(t).toBeGreaterThanOrEqual(0.9);
    expect(t).toBeLessThanOrEqual(2.5);
    await closedWithin(big, 10);
    expect(big.received()).toMatch(/^HTTP\/1\.1 431 /);
  });
});

describe("the three binaries", () => {
  it("print their version", () => {
    for (const name of ["tikti", "tikti-cli", "tikti-migrate"]) {
      const r = spawnSync(bin(name), ["--version"], { encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/\d+\.\d+\.\d+/);
    }
  });

  it("tikti --check validates a config without opening a port or the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-check-"));
    try {
      const { configFile } = await writeTestConfig(dir, await freePort());
      const r = spawnSync(bin("tikti"), ["-f", configFile, "--check"], { encoding: "utf8", cwd: dir });
      expect(r.stdout.trim()).toBe("config ok");
      expect(r.status).toBe(0);
      expect(() => statSync(join(dir, "data"))).toThrow(); // no store was opened
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ jwtSecret: "short" }, "jwtSecret"],
    [{ apiKey: "" }, "apiKey"],
    // Weak secrets outside dev mode (docs/adr/0015-secret-strength-floor.md); in dev mode, which the
    // test config uses, they are only warnings.
    [{ devMode: false, issuerBaseUrl: "https://id.example.com", apiKey: "k".repeat(40) }, "apiKey: too weak"],
    [
      { devMode: false, issuerBaseUrl: "https://id.example.com", jwtSecret: "x".repeat(48) },
      "jwtSecret: too weak",
    ],
    [{ jwksPrivateKey: "not a key" }, "jwksPrivateKey"],
    [{ redisAddr: "127.0.0.1:6379", redisUrl: "redis://127.0.0.1:6379" }, "redis"],
    [{ http: { allowedOrigins: ["*"] } }, "http.allowedOrigins"],
    [{ unknownKey: 1 }, "unknownKey"],
  ])("refuses %j with exit 2 naming %s", async (extra, key) => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-refuse-"));
    try {
      const { configFile } = await writeTestConfig(dir, await freePort(), extra);
      const r = spawnSync(bin("tikti"), ["-f", configFile], { encoding: "utf8", cwd: dir, timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^config: ${key.replace(".", "\\.")}`, "m"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a missing -f file with exit 2", () => {
    const r = spawnSync(bin("tikti"), ["-f", "/nonexistent/tikti.yaml"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("/nonexistent/tikti.yaml");
  });
});

describe("development quick-start with the binary", () => {
  it("generates secrets once, prints the API key once, and reuses them on restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-dev-"));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      PORT: String(port),
      TIKTI_HTTP__SHUTDOWN_DELAY_SECONDS: "0",
    };
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawnServer(bin("tikti"), [], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout!.setEncoding("utf8").on("data", async (d: string) => {
          out += d;
          if (out.includes('"msg":"tikti listening"') && !child.killed) {
            const res = await fetch(`http://127.0.0.1:${port}/healthz`);
            expect(res.status).toBe(200);
            child.kill("SIGTERM");
          }
        });
        child.on("exit", () => resolve(out));
        child.on("error", reject);
      });
    try {
      const first = await run();
      const key = readFileSync(join(dir, "data/dev/api_key"), "utf8").trim();
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(first).toContain(`tikti dev quick-start: API key ${key}`);
      expect(statSync(join(dir, "data/dev/api_key")).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "data/dev/jwks_private_key.pem")).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "data")).mode & 0o777).toBe(0o700);

      const second = await run();
      expect(second).not.toContain(key); // printed once, when generated; never logged again
      expect(readFileSync(join(dir, "data/dev/api_key"), "utf8").trim()).toBe(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
