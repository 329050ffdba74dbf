/**
 * The SAML services of one app: SP keys and rotation, IdP records, domain mappings, metadata
 * transport, metrics. Built once per app by `createServices` (src/services/index.ts); route groups
 * receive it as `services.saml`. The runtime (src/runtime/saml-runtime.ts) then loads the key files
 * and starts the timers on that same context. When `saml.enabled` is true, `createServices` adds its
 * `/readyz` check `saml` (docs/spec/operations.md §5).
 */

import type { Clock } from "../../clock.ts";
import type { Config } from "../../config/schema.ts";
import type { AppDeps } from "../../deps.ts";
import type { Logger } from "../../logger.ts";
import {
  type FetchRules,
  type MetadataRules,
  type MetadataTransport,
  noNetworkTransport,
} from "../../saml/metadata.ts";
import { type SamlMetrics, samlMetrics } from "../../saml/metrics.ts";
import { createSpKeyStore, type SpKeyStore } from "../../saml/sp-keys.ts";
import { type SamlUrls, samlUrls } from "../../saml/urls.ts";
import type { SamlRepos } from "../../store/repos/index.ts";
import type { DomainRepo } from "../../store/repos/saml-domains.ts";
import type { IdpRecordRepo } from "../../store/repos/saml-idps.ts";
import type { Audit } from "../audit.ts";
import { createSpRotation, type SpRotation } from "./rotation.ts";

export interface SamlContext {
  config: Config;
  /** The SAML records (src/store/repos/), built once with the other repositories. */
  repos: SamlRepos;
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

/**
 * The SAML context of one app, built once by `createServices` from `deps.samlIo` (the runtime's key
 * files and network). Without them — HTTP tests of other route groups, tools — key files never load and
 * metadata fetches fail, which is the safe reading of "nothing was configured". `audit` is the app's
 * one audit writer.
 */
export function createSamlContext(deps: AppDeps, audit: Audit, repos: SamlRepos): SamlContext {
  const { config, clock } = deps;
  const logger = deps.logger.child({ component: "saml" });
  const keys = createSpKeyStore({
    config,
    read: deps.samlIo?.readKeyFile ?? (async () => null),
    clock,
    logger,
  });
  const rotation = createSpRotation({ config, state: repos.spRotation, keys, clock, logger });
  const metrics = samlMetrics(deps.metrics, config, clock);
  metrics.setSpSources({
    current: () => keys.current()?.notAfter ?? null,
    next: () => keys.next()?.notAfter ?? null,
    rotationState: () => rotation.lastStateValue(),
  });
  const transport = deps.samlIo?.transport ?? noNetworkTransport;
  const idp = config.saml.idp;
  return {
    config,
    repos,
    clock,
    logger,
    replicaId: deps.replicaId,
    urls: samlUrls(config),
    keys,
    rotation,
    idps: repos.idps,
    domains: repos.domains,
    metrics,
    transport,
    audit,
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
