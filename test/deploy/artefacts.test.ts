// deploy/ (docs/spec/operations.md §10): the Dockerfile, .dockerignore, compose.yaml and its config,
// the systemd unit, and docs/deploy.md. No Docker engine runs here, so these are static checks plus
// the server's own `--check` on the compose configuration.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { generateRsaPem, randomSecret } from "../support/keys.ts";
import { repoRoot } from "./chart.ts";

type Obj = Record<string, unknown>;
const read = (p: string) => readFileSync(join(repoRoot, p), "utf8");

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerfile(): Instruction[] {
  const lines = read("deploy/Dockerfile").split("\n");
  const out: Instruction[] = [];
  let buf = "";
  let stage = -1;
  for (const raw of lines) {
    const line = raw.trim();
    if (buf === "" && (line === "" || line.startsWith("#"))) continue;
    if (buf !== "" && line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (buf + line).trim();
    buf = "";
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (!m) throw new Error(`bad Dockerfile line: ${full}`);
    const op = m[1]!.toUpperCase();
    if (op === "FROM") stage++;
    out.push({ op, args: m[2]!, stage });
  }
  return out;
}

/** The subset of .dockerignore patterns used (dir names, `**` prefixes, `*` globs). */
function dockerignored(path: string): boolean {
  const patterns = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  let ignored = false;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    const body = negate ? p.slice(1) : p;
    const esc = (t: string) => t.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    const glob = body
      .split("**/")
      .map((seg) => seg.split("*").map(esc).join("[^/]*"))
      .join("(?:.*/)?");
    const re = new RegExp(`^${glob}(?:/.*)?$`);
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

describe("deploy/Dockerfile", () => {
  const ins = dockerfile();
  const stages = ins.filter((i) => i.op === "FROM");
  const last = stages.length - 1;
  const runtime = ins.filter((i) => i.stage === last);
  const argDefault = (name: string) =>
    ins.find((i) => i.op === "ARG" && i.args.startsWith(`${name}=`))?.args.split("=")[1];

  it("is multi-stage: a Node >= 20 build stage and a minimal runtime stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.args).toMatch(/ AS build$/);
    const nodeImage = argDefault("NODE_IMAGE") ?? stages[0]!.args;
    expect(Number(/node:(\d+)/.exec(nodeImage)?.[1])).toBeGreaterThanOrEqual(20);
    const runtimeImage = argDefault("RUNTIME_IMAGE") ?? stages[last]!.args;
    expect(runtimeImage).toMatch(/^gcr\.io\/distroless\/cc-debian12:nonroot$|debian:12-slim/);
  });

  it("builds only with the project's own scripts: npm ci (the lockfile), then npm run compile", () => {
    const runs = ins.filter((i) => i.op === "RUN");
    const commands = runs.flatMap((r) => r.args.split("&&").map((c) => c.trim()));
    const build = commands.filter((c) => !/^(mkdir|cp|chown|chmod) /.test(c));
    expect(build).toEqual(["npm ci --no-audit --no-fund", "npm run compile"]);
    // The compile step is the same one developers and CI use.
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
    expect(pkg.scripts.compile).toBe("node scripts/compile.mjs");
    for (const c of commands) expect(c).not.toMatch(/apt-get|apk |curl|wget|bun build|npx|gcc/);
    // The runtime stage runs nothing: it has no shell.
    expect(runtime.filter((i) => i.op === "RUN")).toEqual([]);
  });

  it("ships the three compiled binaries in /app and the entry point of spec §10", () => {
    const compile = read("scripts/compile.mjs");
    for (const name of ["tikti", "tikti-cli", "tikti-migrate"]) {
      expect(compile).toContain(`name: "${name}"`);
      expect(ins.some((i) => i.op === "RUN" && i.args.includes(`dist/${name}`))).toBe(true);
    }
    expect(runtime.some((i) => i.op === "COPY" && /--from=build \S*\/app\/ \/app\/$/.test(i.args))).toBe(
      true,
    );
    const one = (op: string) => runtime.filter((i) => i.op === op).map((i) => i.args);
    expect(one("ENTRYPOINT")).toEqual(['["/app/tikti"]']);
    expect(one("CMD")).toEqual(['["-f", "/app/etc/tikti.yaml"]']);
    expect(one("USER")).toEqual(["10001:10001"]);
    expect(one("EXPOSE")).toEqual(["8080"]);
    expect(one("VOLUME")).toEqual(['["/var/lib/tikti"]']);
    expect(one("ENV")).toContain("TIKTI_DATA_DIR=/var/lib/tikti");
    const labels = one("LABEL").join(" ");
    for (const l of ["title", "description", "licenses", "version", "revision", "source"])
      expect(labels).toContain(`org.opencontainers.image.${l}=`);
    // /var/lib/tikti belongs to the runtime user (the embedded store writes there; root is read-only).
    expect(
      runtime.some(
        (i) =>
          i.op === "COPY" && i.args.includes("--chown=10001:10001") && i.args.endsWith("/var/lib/tikti/"),
      ),
    ).toBe(true);
  });

  it("has no HEALTHCHECK (no shell or HTTP client in the image) and says why", () => {
    expect(ins.filter((i) => i.op === "HEALTHCHECK")).toEqual([]);
    const text = read("deploy/Dockerfile");
    expect(text).toMatch(/# HEALTHCHECK: deliberately absent/);
    expect(text).toContain("/healthz");
  });

  it("COPY sources exist and the build context keeps what the build needs", () => {
    for (const p of [
      "package.json",
      "package-lock.json",
      "scripts/compile.mjs",
      "scripts/rt.mjs",
      "src/runtime/bun.ts",
      "cli/main.ts",
      "migrate/main.ts",
      "config/tikti.example.yaml",
      "tsconfig.json",
      "bunfig.toml",
    ]) {
      expect(existsSync(join(repoRoot, p)), p).toBe(true);
      expect(dockerignored(p), p).toBe(false);
    }
    for (const p of [
      ".git",
      "node_modules",
      "node_modules/x/y",
      "dist/tikti",
      "deploy/secrets/api_key",
      "x.log",
      ".env",
      "a/b/key.pem",
    ])
      expect(dockerignored(p), p).toBe(true);
  });
});

// ---------------------------------------------------------------- compose

describe("deploy/compose.yaml", () => {
  const composeDir = join(repoRoot, "deploy");
  const compose = parse(read("deploy/compose.yaml"), { merge: true }) as Obj;
  const services = compose.services as Record<string, Obj>;

  it("declares tikti, redis, and the kvrocks and migrate profiles", () => {
    expect(Object.keys(services).sort()).toEqual(["kvrocks", "migrate", "redis", "tikti"]);
    expect(services.tikti!.profiles).toBeUndefined();
    expect(services.redis!.profiles).toBeUndefined();
    expect(services.kvrocks!.profiles).toEqual(["kvrocks"]);
    expect(services.migrate!.profiles).toEqual(["migrate"]);
  });

  it("builds tikti from deploy/Dockerfile with the repository as context", () => {
    for (const name of ["tikti", "migrate"]) {
      const build = services[name]!.build as { context: string; dockerfile: string };
      const context = resolve(composeDir, build.context);
      expect(context).toBe(repoRoot);
      expect(statSync(join(context, build.dockerfile)).isFile()).toBe(true);
      expect(build.dockerfile).toBe("deploy/Dockerfile");
    }
    expect(services.migrate!.entrypoint).toEqual(["/app/tikti-migrate"]);
    expect(services.migrate!.restart).toBe("no");
  });

  it("references only files that exist, or the documented, git-ignored ./secrets/*", () => {
    const tikti = services.tikti!;
    for (const v of tikti.volumes as string[]) {
      const [src, dst] = v.split(":");
      expect(existsSync(resolve(composeDir, src!)), src).toBe(true);
      expect(dst).toBe("/app/etc/tikti.yaml");
    }
    const secrets = compose.secrets as Record<string, { file: string }>;
    const docs = read("docs/deploy.md");
    for (const [name, { file }] of Object.entries(secrets)) {
      expect(file, name).toMatch(/^\.\/secrets\/[\w.-]+$/);
      expect(docs, `docs/deploy.md tells how to create ${file}`).toContain(
        `secrets/${file.split("/").pop()}`,
      );
    }
    expect(read("deploy/.gitignore")).toMatch(/^\/secrets\/$/m);
    expect(existsSync(join(composeDir, ".env.example"))).toBe(true);
    // Images are pinned (a tag, never latest); tikti's is the one built here.
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
    expect(services.kvrocks!.image).toMatch(/^apache\/kvrocks:\d+\.\d+\.\d+$/);
    expect(services.redis!.image).toMatch(/^redis:7(\.|-|$)/);
  });

  it("passes secrets as *_FILE variables naming the mounted compose secrets", () => {
    const tikti = services.tikti!;
    const env = tikti.environment as Record<string, string>;
    const declared = Object.keys(compose.secrets as Obj);
    expect((tikti.secrets as string[]).sort()).toEqual(declared.sort());
    const files = Object.entries(env).filter(([k]) => k.endsWith("_FILE"));
    expect(files.map(([k]) => k).sort()).toEqual([
      "API_KEY_FILE",
      "JWKS_PRIVATE_KEY_FILE",
      "JWT_SECRET_FILE",
    ]);
    for (const [, v] of files) expect(declared).toContain(v.replace(/^\/run\/secrets\//, ""));
    for (const k of ["JWT_SECRET", "API_KEY", "JWKS_PRIVATE_KEY"]) expect(env[k]).toBeUndefined();
    expect(tikti.ports).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
      "${TIKTI_PORT:-8080}:8080",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
      "127.0.0.1:${TIKTI_METRICS_PORT:-9464}:9464",
    ]);
    expect(tikti.read_only).toBe(true);
    expect(tikti.tmpfs).toEqual(["/tmp"]);
  });

  it("starts tikti only once the store is healthy; Redis persists (AOF, volume); KVRocks too", () => {
    const deps = services.tikti!.depends_on as Record<string, { condition: string; required?: boolean }>;
    expect(deps.redis).toEqual({ condition: "service_healthy" });
    expect(deps.kvrocks).toEqual({ condition: "service_healthy", required: false });
    const redis = services.redis!;
    expect((redis.command as string[]).join(" ")).toContain("--appendonly yes");
    expect(redis.volumes).toEqual(["redis-data:/data"]);
    expect(at(redis, "healthcheck.test")).toEqual(["CMD", "redis-cli", "ping"]);
    const kvrocks = services.kvrocks!;
    expect(kvrocks.volumes).toEqual(["kvrocks-data:/var/lib/kvrocks"]);
    expect(at(kvrocks, "healthcheck.test")).toEqual(["CMD", "redis-cli", "-p", "6666", "ping"]);
    expect(Object.keys(compose.volumes as Obj).sort()).toEqual(["kvrocks-data", "redis-data"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolation, not a JS template
    expect((services.tikti!.environment as Obj).REDIS_ADDR).toBe("${REDIS_ADDR:-redis:6379}");
  });

  it("keeps /metrics off the public port: its own listener, published on the host's loopback only", () => {
    const config = parse(read("deploy/compose/tikti.yaml")) as Obj;
    const metricsPort = at(config, "metrics.port");
    expect(metricsPort).toBe(9464);
    expect(metricsPort).not.toBe(config.port);
    const published = (services.tikti!.ports as string[]).filter((p) => p.endsWith(`:${metricsPort}`));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatch(/^127\.0\.0\.1:/);
    // The public mapping targets the main port only.
    for (const p of services.tikti!.ports as string[])
      if (!p.startsWith("127.0.0.1:")) expect(p).toMatch(/:8080$/);
  });

  describe("deploy/compose/tikti.yaml is accepted by the server (tikti --check)", () => {
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "tikti-compose-"));
      writeFileSync(join(dir, "jwt_secret"), randomSecret(48), { mode: 0o400 });
      writeFileSync(join(dir, "api_key"), randomSecret(32), { mode: 0o400 });
      writeFileSync(join(dir, "jwks_private_key.pem"), await generateRsaPem(), { mode: 0o400 });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const check = (extra: Record<string, string>) => {
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        NO_COLOR: "1",
        // What compose.yaml sets (secret paths mapped from /run/secrets to the temp dir).
        REDIS_ADDR: "redis:6379",
        ISSUER_BASE_URL: "https://id.example.com",
        LOG_LEVEL: "info",
        JWT_SECRET_FILE: join(dir, "jwt_secret"),
        API_KEY_FILE: join(dir, "api_key"),
        JWKS_PRIVATE_KEY_FILE: join(dir, "jwks_private_key.pem"),
        ...extra,
      };
      const args = [
        join(repoRoot, "src/runtime/node.ts"),
        "-f",
        join(repoRoot, "deploy/compose/tikti.yaml"),
        "--check",
      ];
      return spawnSync(runtimeBinary("node") as string, args, {
        cwd: dir,
        env,
        encoding: "utf8",
        timeout: 60_000,
      });
    };

    it("with Redis and with KVRocks", () => {
      for (const addr of ["redis:6379", "kvrocks:6666"]) {
        const r = check({ REDIS_ADDR: addr });
        expect(r.stdout.trim(), r.stderr).toBe("config ok");
        expect(r.status).toBe(0);
      }
    });

    it("and refuses it without ISSUER_BASE_URL (so the check can fail)", () => {
      const r = check({ ISSUER_BASE_URL: "" });
      expect(r.status).toBe(2);
      expect(r.stderr + r.stdout).toContain("issuerBaseUrl");
    });
  });
});

function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const p of path.split(".")) cur = (cur as Obj | undefined)?.[p];
  return cur;
}

// ---------------------------------------------------------------- systemd

describe("deploy/systemd/tikti.service", () => {
  const text = read("deploy/systemd/tikti.service");
  const sections = new Map<string, [string, string][]>();
  let current = "";
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (l === "" || l.startsWith("#") || l.startsWith(";")) continue;
    const sec = /^\[(\w+)\]$/.exec(l);
    if (sec) {
      current = sec[1]!;
      sections.set(current, []);
      continue;
    }
    const eq = l.indexOf("=");
    sections.get(current)!.push([l.slice(0, eq), l.slice(eq + 1)]);
  }
  const service = sections.get("Service") ?? [];
  const values = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);
  const one = (key: string) => {
    expect(values(key), key).toHaveLength(1);
    return values(key)[0];
  };

  it("has the directives of docs/spec/operations.md §10", () => {
    expect(one("User")).toBe("tikti");
    expect(one("ExecStart")).toBe("/usr/local/bin/tikti -f /etc/tikti/tikti.yaml");
    expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one("StateDirectory")).toBe("tikti");
    expect(one("Restart")).toBe("on-failure");
    expect(one("TimeoutStopSec")).toBe("40");
    for (const k of [
      "NoNewPrivileges",
      "ProtectHome",
      "PrivateTmp",
      "PrivateDevices",
      "ProtectKernelTunables",
      "ProtectControlGroups",
      "LockPersonality",
    ])
      expect(one(k), k).toBe("yes");
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("RestrictAddressFamilies")).toBe("AF_INET AF_INET6 AF_UNIX");
    expect(sections.get("Install")).toEqual([["WantedBy", "multi-user.target"]]);
  });

  it("never sets MemoryDenyWriteExecute (the JavaScript JIT cannot run under it)", () => {
    expect(values("MemoryDenyWriteExecute")).toEqual([]);
  });

  it("passes secrets through LoadCredential= and %d/<name> *_FILE variables", () => {
    const creds = new Map(values("LoadCredential").map((v) => v.split(":") as [string, string]));
    const env = new Map(values("Environment").map((v) => v.split("=") as [string, string]));
    for (const [variable, cred] of [
      ["JWT_SECRET_FILE", "jwt_secret"],
      ["API_KEY_FILE", "api_key"],
      ["JWKS_PRIVATE_KEY_FILE", "jwks_private_key"],
    ] as const) {
      expect(env.get(variable)).toBe(`%d/${cred}`);
      expect(creds.get(cred), cred).toMatch(/^\/etc\/tikti\/secrets\//);
    }
    for (const k of ["JWT_SECRET", "API_KEY", "JWKS_PRIVATE_KEY"]) expect(env.has(k)).toBe(false);
    expect(env.get("TIKTI_DATA_DIR")).toBe("/var/lib/tikti");
    // A configuration refusal (exit 2) is not retried in a loop.
    expect(one("RestartPreventExitStatus")).toBe("2");
  });
});

// ---------------------------------------------------------------- docs

describe("docs/deploy.md", () => {
  const docs = read("docs/deploy.md");

  it("walks through the three paths, scaling, secrets and key rotation", () => {
    for (const heading of [
      /^## .*Kubernetes/m,
      /^## .*Compose/m,
      /^## .*VM/m,
      /^## .*Scaling/m,
      /^## .*Secrets/m,
      /^## .*rotation/im,
    ])
      expect(docs).toMatch(heading);
    for (const ref of ["docs/spec/tokens.md §6.3", "docs/spec/saml.md §13", "Redis Cluster"])
      expect(docs).toContain(ref);
  });

  it("names files that exist", () => {
    for (const m of docs.matchAll(/`((?:deploy|helm|config|docs|scripts)\/[\w./-]+)`/g)) {
      const p = m[1]!.replace(/\/$/, "");
      expect(existsSync(join(repoRoot, p)), p).toBe(true);
    }
    expect(docs).toContain("deploy/systemd/tikti.service");
    // The issue's name for the unit is explained.
    expect(docs).toContain("deploy/tikti.service");
  });
});
