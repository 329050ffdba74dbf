/**
 * The SAML services of one app, built once per `AppDeps`: SP keys and rotation, IdP records, domain
 * mappings, metadata transport, metrics. Route groups (admin, metadata, discovery, and the login/ACS/SLO
 * routes) get them with `samlContext(deps)`.
 *
 * The runtime (src/runtime/saml-runtime.ts) calls `attachSaml(deps, {readKeyFile, transport})`
 * before `createApp(deps)`, loads the key files and starts the timers. Without that — HTTP tests of
 * other route groups, tools — `samlContext` builds a context whose key files never load and whose
 * metadata fetches fail, which is the safe reading of "nothing was configured".
 *
 * When `saml.enabled` is true the context registers the `/readyz` check `saml` (operations.md §5).
 */

import type { Clock } from "../clock.ts";
import type { Config } from "../config/schema.ts";
import type { AppDeps } from "../deps.ts";
import type { Logger } from "../logger.ts";
import { type Audit, createAudit } from "../services/audit.ts";
import type { KV } from "../store/kv.ts";
import { createDomainRepo, type DomainRepo } from "./discovery.ts";
import { createIdpRecordRepo, type IdpRecordRepo } from "./idp-records.ts";
import {
  type FetchRules,
  type MetadataRules,
  type MetadataTransport,
  noNetworkTransport,
} from "./metadata.ts";
import { type SamlMetrics, samlMetrics } from "./metrics.ts";
import { createSpRotation, type SpRotation } from "./rotation.ts";
import { createSpKeyStore, type KeyFileReader, type SpKeyStore } from "./sp-keys.ts";
import { type SamlUrls, samlUrls } from "./urls.ts";

export interface SamlContext {
  config: Config;
  kv: KV;
  clock: Clock;
  logger: Logger;
  replicaId: string;
  urls: SamlUrls;
  /** SP key pairs loaded from files (current, next, separate encryption). */
  keys: SpKeyStore;
  /** Rotation state and the pair selection that depends on it (signing, decryption, metadata). */
  rotation: SpRotation;
  idps: IdpRecordRepo;
  domains: DomainRepo;
  metrics: SamlMetrics;
  transport: MetadataTransport;
  /** Audit writer for events without an HTTP request (background refresh). */
  audit: Audit;
  /** Rules for parsing IdP metadata now. */
  metadataRules(): MetadataRules;
  /** Rules for fetching a metadata URL. */
  fetchRules(): FetchRules;
}

export interface SamlContextOptions {
  /** Reads SP key files (src/runtime/saml-keys.ts); without it no pair ever loads. */
  readKeyFile?: KeyFileReader;
  /** Network for metadata URLs (src/runtime/saml-fetch.ts); without it every fetch fails. */
  transport?: MetadataTransport;
}

const contexts = new WeakMap<AppDeps, SamlContext>();

function build(deps: AppDeps, options: SamlContextOptions): SamlContext {
  const { config, clock } = deps;
  const logger = deps.logger.child({ component: "saml" });
  const keys = createSpKeyStore({
    config,
    read: options.readKeyFile ?? (async () => null),
    clock,
    logger,
  });
  const rotation = createSpRotation({ config, kv: deps.store, keys, clock, logger });
  const metrics = samlMetrics(deps.metrics, config, clock);
  metrics.setSpSources({
    current: () => keys.current()?.notAfter ?? null,
    next: () => keys.next()?.notAfter ?? null,
    rotationState: () => rotation.lastStateValue(),
  });
  const transport = options.transport ?? noNetworkTransport;
  const idp = config.saml.idp;
  return {
    config,
    kv: deps.store,
    clock,
    logger,
    replicaId: deps.replicaId,
    urls: samlUrls(config),
    keys,
    rotation,
    idps: createIdpRecordRepo({ kv: deps.store, logger }),
    domains: createDomainRepo({ kv: deps.store, config }),
    metrics,
    transport,
    audit: createAudit({
      sink: deps.auditSink,
      clock,
      logger,
      metrics: deps.metrics,
      replicaId: deps.replicaId,
    }),
    metadataRules: () => ({ devMode: config.devMode, maxBytes: idp.metadataMaxBytes, now: clock.now() }),
    fetchRules: () => ({
      devMode: config.devMode,
      maxBytes: idp.metadataMaxBytes,
      timeoutMs: idp.fetchTimeoutSeconds * 1000,
      allowPrivateHosts: idp.allowPrivateMetadataHosts,
      transport,
    }),
  };
}

function register(deps: AppDeps, ctx: SamlContext): SamlContext {
  contexts.set(deps, ctx);
  if (deps.config.saml.enabled) {
    deps.readinessChecks = { ...deps.readinessChecks, saml: () => ctx.rotation.readiness() };
  }
  return ctx;
}

/**
 * Builds and registers the SAML context of `deps` with real key files and network. Call before
 * `createApp(deps)`; a second call for the same deps is a programming error.
 */
export function attachSaml(deps: AppDeps, options: SamlContextOptions): SamlContext {
  if (contexts.has(deps)) throw new Error("SAML context already attached to these deps");
  return register(deps, build(deps, options));
}

/** The SAML context of `deps` (attached by the runtime, or a key-less, network-less default). */
export function samlContext(deps: AppDeps): SamlContext {
  return contexts.get(deps) ?? register(deps, build(deps, {}));
}
