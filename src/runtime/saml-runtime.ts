/**
 * SAML at run time (docs/spec/saml.md §12.4, §13; docs/spec/operations.md §1): `samlIo()` gives the app real key
 * files and network (`AppDeps.samlIo`); `startSamlRuntime` loads the SP key pairs of the app's SAML
 * context (`app.services.saml`), and keeps them current — every
 * `saml.sp.keyReloadSeconds` and on `SIGHUP` (key files and the rotation state) — and runs the hourly
 * IdP metadata pass (expiry gauges, background refresh). Timers are unref'd so they never keep the
 * process alive.
 */
import process from "node:process";
import type { AppDeps, SamlIo } from "../deps.ts";
import type { MetadataTransport } from "../saml/metadata.ts";
import type { KeyFileReader } from "../saml/sp-keys.ts";
import type { SamlContext } from "../services/saml/context.ts";
import { refreshTick } from "../services/saml/refresh.ts";
import { createMetadataTransport } from "./saml-fetch.ts";
import { readSamlKeyFile } from "./saml-keys.ts";

const REFRESH_PERIOD_MS = 3_600_000;
/** The first metadata pass runs shortly after start, spread over replicas. */
const FIRST_PASS_MAX_DELAY_MS = 60_000;
/** How often the start polls a store that is still connecting. */
const STORE_POLL_MS = 25;

export interface SamlRuntime {
  context: SamlContext;
  /** Re-reads key files and the rotation state now (what SIGHUP does). */
  reload(): Promise<void>;
  /** Stops timers and the SIGHUP handler. */
  stop(): void;
}

function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}

/** Resolves once the store answers `PING`, or after `timeoutMs` whether it does or not. */
async function storeAnswers(deps: AppDeps, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await deps.store.ping();
      return;
    } catch {
      if (Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, STORE_POLL_MS));
    }
  }
}

/** The real key-file reader and metadata network, for `AppDeps.samlIo`. */
export function samlIo(options: { transport?: MetadataTransport; readKeyFile?: KeyFileReader } = {}): SamlIo {
  return {
    readKeyFile: options.readKeyFile ?? readSamlKeyFile,
    transport: options.transport ?? createMetadataTransport(),
  };
}

/** Starts SAML for the app built from `deps`, on its context (`app.services.saml`). */
export async function startSamlRuntime(
  deps: AppDeps,
  context: SamlContext,
  options: { signals?: boolean } = {},
): Promise<SamlRuntime> {
  const { config } = deps;
  const logger = deps.logger.child({ component: "saml" });
  const reload = async () => {
    await context.keys.reload();
    await context.rotation.refresh().catch((error) => logger.warn("SP rotation state unreadable", { error }));
  };
  // The IdP admin routes work with SAML disabled; keys, signals and timers only when enabled.
  if (!config.saml.enabled) return { context, reload, stop() {} };

  // A Redis store connects in the background and refuses commands until it is ready: the first
  // read of the rotation state waits for the connection (bounded) rather than warning about a store
  // that is merely still connecting. A store still unreachable afterwards is worth the warning.
  await storeAnswers(deps, config.redisTimeoutMs);
  await reload();
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const keyTimer = setInterval(() => void reload(), config.saml.sp.keyReloadSeconds * 1000);
  unref(keyTimer);
  timers.push(keyTimer);

  const pass = () =>
    void refreshTick(context).then((r) => {
      if (r.updated.length + r.failed.length > 0) logger.info("IdP metadata pass", { ...r });
    });
  const first = setTimeout(
    () => {
      pass();
      const hourly = setInterval(pass, REFRESH_PERIOD_MS);
      unref(hourly);
      timers.push(hourly);
    },
    Math.floor(Math.random() * FIRST_PASS_MAX_DELAY_MS),
  );
  unref(first);
  timers.push(first);

  const onHangup = () => {
    logger.info("SIGHUP: re-reading SAML key files and the rotation state");
    void reload();
  };
  const signals = options.signals ?? true;
  if (signals) process.on("SIGHUP", onHangup);

  return {
    context,
    reload,
    stop() {
      for (const t of timers) clearTimeout(t);
      if (signals) process.off("SIGHUP", onHangup);
    },
  };
}
