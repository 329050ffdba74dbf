/**
 * The server bootstrap shared by the Bun, Deno and Node entries (docs/spec/operations.md §1): argv,
 * configuration, keys, store, app, listeners, signals. Exit codes: 0 clean shutdown, 1 runtime
 * failure, 2 configuration refused.
 */
import { createApp } from "../app.ts";
import { createCoreDeps } from "../bootstrap.ts";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { type KeyRing, loadKeyRing } from "../crypto/keyring.ts";
import type { AppDeps, Lifecycle } from "../deps.ts";
import { metricsResponse } from "../http/routes/health.ts";
import { createLogger, type Logger } from "../logger.ts";
import { validateSamlKeyFiles } from "../saml/sp-keys.ts";
import type { KV } from "../store/kv.ts";
import { MIGRATIONS_SATISFIED_BY_SERVER, recordMigrationsOfNewStore } from "../store/new-store.ts";
import { createRedisStore } from "../store/redis.ts";
import { VERSION } from "../version.ts";
import { runtimeAccessTokenSigner } from "./access-token-node.ts";
import type { RunningServer, RuntimeAdapter } from "./adapter.ts";
import { createAuditSink } from "./audit-sink.ts";
import { createConfigIO } from "./config-io.ts";
import { openEmbeddedStore } from "./embedded-open.ts";
import { runtimeHs256Mac, runtimeSha256 } from "./hmac-node.ts";
import { createLineSink } from "./line-sink.ts";
import { processMetrics } from "./process-metrics.ts";
import { samlIo, startSamlRuntime } from "./saml-runtime.ts";
import { currentHost, followSupervisor, planWorkers, superviseWorkers, workerIndex } from "./workers.ts";

const USAGE = `Usage: tikti [-f|--config <file>] [--check] [--version]

  -f, --config <file>  configuration file (default: config/tikti.yaml; without it and without
                       REDIS_* variables the development quick-start runs)
  --check              validate the configuration and key files, print "config ok", exit
  --version            print the version and build SHA
  -h, --help           this help
`;

interface Args {
  configPath?: string;
  check: boolean;
  version: boolean;
  help: boolean;
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { check: false, version: false, help: false };
  const rest = argv[Symbol.iterator]();
  for (const a of rest) {
    if (a === "-f" || a === "--config") {
      const v = rest.next().value;
      if (v === undefined) throw new ConfigError(a, "needs a file path");
      args.configPath = v;
    } else if (a.startsWith("--config=")) args.configPath = a.slice("--config=".length);
    else if (a === "--check") args.check = true;
    else if (a === "--version" || a === "-v") args.version = true;
    else if (a === "--help" || a === "-h") args.help = true;
    else throw new ConfigError("argv", `unknown argument "${a}"`);
  }
  return args;
}

function exitWith(code: number, message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.exit(code);
}

/**
 * Records the migrations of an empty store as applied (src/store/new-store.ts). Redis connects in
 * the background and may be down at start-up (not a refusal, docs/spec/operations.md §4): start-up waits at
 * most a second for it, then the check runs whenever the store first answers; by then the server
 * may have written keys, and the store is rightly left to tikti-migrate.
 */
async function recordIfNewStore(store: KV, logger: Logger): Promise<void> {
  const attempt = async (): Promise<void> => {
    for (;;) {
      try {
        await store.ping();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const outcome = await recordMigrationsOfNewStore(store, {
      nowMs: Date.now(),
      serverVersion: `${VERSION.version} (${VERSION.commit})`,
    });
    if (outcome === "legacy-pending") {
      logger.warn("legacy users hash present and migration 0001 not recorded: run tikti-migrate", {
        docs: "docs/migration.md",
      });
    }
    if (outcome === "recorded") {
      logger.info("new store: migrations recorded as applied", {
        migrations: MIGRATIONS_SATISFIED_BY_SERVER,
      });
    }
  };
  const done = attempt().catch((error) => logger.warn("new-store check failed", { error }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 1000)))]);
  clearTimeout(timer);
}

/** Chooses and opens the store engine (docs/spec/storage.md §1). Redis connects in the background. */
export async function openStore(config: Config, adapter: RuntimeAdapter, logger: Logger): Promise<KV> {
  const redis = {
    username: config.redisUsername || undefined,
    password: config.redisPassword || undefined,
    tls: config.redisTls,
    timeoutMs: config.redisTimeoutMs,
    logger: logger.child({ component: "store" }),
  };
  if (config.redisAddr) return createRedisStore({ ...redis, addr: config.redisAddr, db: config.redisDb });
  if (config.redisUrl) return createRedisStore({ ...redis, url: config.redisUrl, db: config.redisDb });
  if (config.redisCluster.length > 0) return createRedisStore({ ...redis, cluster: config.redisCluster });
  return openEmbeddedStore({
    dataDir: config.dataDir,
    logger: logger.child({ component: "store" }),
    openSqlite: adapter.openSqlite,
    // Measured on Node only (issue 14): see EmbeddedStoreOptions.batchReadAnswers.
    batchReadAnswers: adapter.name === "node",
  });
}

export async function main(adapter: RuntimeAdapter, argv: string[]): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    exitWith(2, `${(e as Error).message}\n\n${USAGE}`);
  }
  if (args.help) exitWith(0, USAGE);
  if (args.version) {
    process.stdout.write(`tikti ${VERSION.version} (${VERSION.commit}) ${adapter.name}\n`);
    process.exit(0);
  }

  const io = createConfigIO();
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    // SAML key files are checked here too, so --check and startup refuse bad ones (docs/spec/operations.md §4).
    loaded = await loadConfig(io, { configPath: args.configPath }, { validateSamlKeyFiles });
  } catch (e) {
    if (e instanceof ConfigError) {
      exitWith(2, e.file ? `config file ${e.file} refused:\n${e.message}` : e.message);
    }
    exitWith(2, `config: ${(e as Error).message}`);
  }
  const { config } = loaded;
  // With --check, stdout carries only the verdict; warnings go to stderr as JSON lines.
  const sink = args.check ? process.stderr : process.stdout;
  // A worker of a multi-core supervisor (src/runtime/workers.ts) says which one it is in its logs.
  const worker = workerIndex();
  const lines = createLineSink(
    (chunk) => sink.write(chunk),
    (run) => setImmediate(run),
  );
  process.on("exit", () => lines.flush());
  const logger = createLogger((line) => lines.line(line), config.logging.level, {
    runtime: adapter.name,
    ...(worker !== undefined ? { worker } : {}),
  });
  for (const w of loaded.warnings) logger.warn(w);
  let workers = 1;
  try {
    workers = planWorkers(config, currentHost(adapter.name));
  } catch (e) {
    exitWith(2, (e as Error).message);
  }

  let keys: KeyRing;
  try {
    keys = await loadKeyRing({
      activePrivateKeyPem: config.jwksPrivateKey,
      activeKid: config.jwksKeyId,
      extra: config.jwksKeys,
    });
  } catch (e) {
    exitWith(2, `config: jwksPrivateKey: cannot be imported (${(e as Error).message})`);
  }

  if (args.check) {
    process.stdout.write("config ok\n");
    process.exit(0);
  }

  if (loaded.devQuickStart) {
    logger.warn("development mode: not for production (loopback only, generated secrets)", {
      dataDir: config.dataDir,
    });
    if (loaded.generatedApiKey) {
      // Printed once, when generated (docs/spec/operations.md §3); never logged again. After the
      // pending log lines, so stdout keeps the order things happened in.
      lines.flush();
      process.stdout.write(
        `tikti dev quick-start: API key ${loaded.generatedApiKey} (stored in ${config.dataDir}/dev/api_key)\n`,
      );
    }
  }

  if (workers > 1 && worker === undefined) {
    // This process only supervises: the workers load the same configuration and serve.
    superviseWorkers(workers, logger);
    return;
  }

  let store: KV;
  try {
    store = await openStore(config, adapter, logger);
  } catch (e) {
    // The embedded store refuses a locked or unwritable dataDir: a configuration refusal.
    exitWith(2, `config: dataDir: ${(e as Error).message}`);
  }
  // Before anything else writes: a store that is still empty gets its migrations recorded.
  await recordIfNewStore(store, logger);

  const lifecycle: Lifecycle = { shuttingDown: false };
  const passwords = adapter.createPasswordHasher(config.accounts.passwordHash);
  const audit = await createAuditSink(config.audit, (line) => lines.now(line));
  const deps: AppDeps = await createCoreDeps({
    config,
    store,
    logger,
    keys,
    passwords,
    auditSink: audit.write,
    lifecycle,
    processMetrics,
    // Imported once here; chosen per runtime by the benchmark (docs/benchmarks.md).
    accessTokenSigner: runtimeAccessTokenSigner(
      adapter.name,
      config.jwksPrivateKey,
      config.jwksKeyId,
      keys.activeAlg,
    ),
    idTokenMac: runtimeHs256Mac(adapter.name, config.jwtSecret),
    sha256Sync: runtimeSha256(adapter.name),
    samlIo: samlIo(),
  });
  // Worker threads and WASM engines start before the first request, not during it.
  await passwords.warmUp();
  const app = createApp(deps);
  // SP keys loaded, SIGHUP and reload/refresh timers started, before the first request.
  const saml = await startSamlRuntime(deps, app.services.saml);
  const http = config.http;
  const serveOptions = {
    hostname: config.bindAddress,
    headersTimeoutSeconds: http.headersTimeoutSeconds,
    requestTimeoutSeconds: http.requestTimeoutSeconds,
    keepAliveTimeoutSeconds: http.keepAliveTimeoutSeconds,
    maxHeaderBytes: http.maxHeaderBytes,
    // Slow or oversized headers never reach the access log; an operator still sees them here.
    onConnectionRefused: (event: { reason: string; remoteAddr: string; remotePort: number }) =>
      logger.info("connection refused by HTTP limits", event),
  };

  const servers: RunningServer[] = [];
  let apiServer: RunningServer;
  try {
    apiServer = await adapter.serve({
      ...serveOptions,
      port: config.port,
      reusePort: worker !== undefined,
      fetch: (req, env) => app.fetch(req, env),
    });
    servers.push(apiServer);
    // With several workers only the first serves the separate metrics port (ADR 0006).
    if (config.metrics.enabled && config.metrics.port !== 0 && (worker ?? 0) === 0) {
      servers.push(
        await adapter.serve({
          ...serveOptions,
          port: config.metrics.port,
          fetch: (req) =>
            new URL(req.url).pathname === "/metrics"
              ? metricsResponse(deps)
              : new Response("not found", { status: 404 }),
        }),
      );
    }
  } catch (e) {
    logger.error("cannot listen", { error: e, bindAddress: config.bindAddress, port: config.port });
    await store.close().catch(() => {});
    exitWith(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // /readyz turns 503 at once; keep accepting for shutdownDelaySeconds so load balancers can
    // deregister, then close the listener and give in-flight requests shutdownGraceSeconds.
    lifecycle.shuttingDown = true;
    logger.info("shutdown signal received", { signal });
    await new Promise((r) => setTimeout(r, http.shutdownDelaySeconds * 1000));
    await Promise.all(servers.map((s) => s.stop(http.shutdownGraceSeconds * 1000)));
    await store.close().catch((error) => logger.warn("store close failed", { error }));
    await passwords.close().catch(() => {});
    await audit.close().catch(() => {});
    saml.stop();
    logger.info("tikti stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("unhandledRejection", (error) => logger.error("unhandled rejection", { error }));
  if (worker !== undefined) followSupervisor();
  // Announced only now: Node installs its OS-level SIGTERM handler when the first listener is
  // added, so a signal that arrived between "listening" and process.on() would kill the process.
  logger.info("tikti listening", {
    version: VERSION.version,
    address: `${config.bindAddress}:${apiServer.port}`,
    // Where /metrics went (its own listener by default outside dev mode, docs/adr/0030).
    ...(servers[1] ? { metricsAddress: `${config.bindAddress}:${servers[1].port}` } : {}),
    store: store.engine,
    // Which configuration is in effect: a copied example at the default path must not surprise.
    config: loaded.configPath ?? (loaded.devQuickStart ? "development quick-start" : "environment only"),
  });
}
