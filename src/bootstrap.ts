/**
 * Builds `AppDeps` from a validated configuration and opened resources. Shared by the server
 * entries and the tests, so both import keys the same way: once, at start-up, never per request.
 */

import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config/schema.ts";
import { type AccessTokenSigner, createWebCryptoAccessTokenSigner } from "./crypto/access-token.ts";
import type { Sha256Sync } from "./crypto/compare.ts";
import { createIdTokenSigner } from "./crypto/id-token.ts";
import type { Hs256Mac } from "./crypto/jws.ts";
import { type KeyRing, loadKeyRing } from "./crypto/keyring.ts";
import type { PasswordHasher } from "./crypto/password.ts";
import type { AppDeps, Lifecycle, SamlIo } from "./deps.ts";
import type { Logger } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import type { AuditSink } from "./services/audit.ts";
import type { KV } from "./store/kv.ts";

export interface CoreDepsInput {
  config: Config;
  store: KV;
  logger: Logger;
  passwords: PasswordHasher;
  /** Where audit records go (stdout or a file); chosen by the runtime. */
  auditSink: AuditSink;
  /** An already-loaded key ring (the server loads it once to validate the config). */
  keys?: KeyRing;
  clock?: Clock;
  metrics?: Metrics;
  lifecycle?: Lifecycle;
  replicaId?: string;
  processMetrics?: () => string;
  /** Key files and network for SAML (src/runtime/saml-runtime.ts). */
  samlIo?: SamlIo;
  /** A faster per-runtime RS256 signer (src/runtime/access-token-node.ts); default Web Crypto. */
  accessTokenSigner?: AccessTokenSigner | undefined;
  /** A synchronous HS256 MAC for idTokens (src/runtime/hmac-node.ts); default Web Crypto. */
  idTokenMac?: Hs256Mac | undefined;
  /** A synchronous SHA-256 for API-key checks (src/runtime/hmac-node.ts); default Web Crypto. */
  sha256Sync?: Sha256Sync | undefined;
}

export async function createCoreDeps(input: CoreDepsInput): Promise<AppDeps> {
  const { config } = input;
  const clock = input.clock ?? systemClock;
  const keys =
    input.keys ??
    (await loadKeyRing({
      activePrivateKeyPem: config.jwksPrivateKey,
      activeKid: config.jwksKeyId,
      extra: config.jwksKeys,
    }));
  return {
    config,
    store: input.store,
    keys,
    idTokens: await createIdTokenSigner(config, clock, input.idTokenMac),
    accessTokens: input.accessTokenSigner ?? createWebCryptoAccessTokenSigner(keys),
    passwords: input.passwords,
    auditSink: input.auditSink,
    logger: input.logger,
    metrics: input.metrics ?? createMetrics(),
    clock,
    lifecycle: input.lifecycle ?? { shuttingDown: false },
    replicaId: input.replicaId ?? crypto.randomUUID(),
    ...(input.processMetrics ? { processMetrics: input.processMetrics } : {}),
    ...(input.sha256Sync ? { sha256Sync: input.sha256Sync } : {}),
    ...(input.samlIo ? { samlIo: input.samlIo } : {}),
  };
}
