/**
 * Everything the pure core needs from the outside world, built by a runtime entry
 * (src/runtime/main.ts) or by a test. Nothing in the core reads env, files or sockets itself.
 */
import type { Config } from "./config/schema.ts";
import type { KeyRing } from "./crypto/keyring.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { KV } from "./store/kv.ts";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Shared, mutable process state the runtime flips on shutdown. */
export interface Lifecycle {
  shuttingDown: boolean;
}

/** An extra readiness check (e.g. SAML keys): returns "ok" or a short reason without secrets. */
export type ReadinessCheck = () => Promise<string> | string;

export interface AppDeps {
  config: Config;
  store: KV;
  keys: KeyRing;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  lifecycle: Lifecycle;
  /** Identifies this replica in audit records. */
  replicaId: string;
  /** Extra checks for /readyz, by name. */
  readinessChecks?: Record<string, ReadinessCheck>;
  /** Process/runtime series appended to /metrics (from the runtime entry). */
  processMetrics?: () => string;
}

/** Hono environment shared by every route and middleware. */
export interface HonoEnv {
  Bindings: {
    /** Socket address of the peer, provided by the runtime adapter. */
    remoteAddr?: string;
  };
  Variables: {
    requestId: string;
    log: Logger;
    clientIp: string;
  };
}
