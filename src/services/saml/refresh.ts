/**
 * Metadata ingestion and refresh of IdP records (docs/spec/saml.md §11.2, §11.3, §12.3, §12.4).
 *
 * A refresh reads the record, fetches and validates its metadata URL, and writes with `CAS_SET`
 * against the exact value read: a concurrent admin change wins, and a failed fetch keeps every
 * endpoint and certificate (only `lastRefreshError` and `refreshFailures` change). The background
 * loop takes `saml:refresh:lock:{tid}` (`SET NX EX 600`) so one replica fetches per tenant.
 */
import { TiktiError } from "../../errors.ts";
import { isoSeconds } from "../../saml/certs.ts";
import {
  encryptionCertsOf,
  expirySources,
  type IdpRecord,
  mergeSigningCerts,
} from "../../saml/idp-records.ts";
import {
  fetchMetadata,
  METADATA_MESSAGES,
  MetadataError,
  type ParsedIdpMetadata,
  parseIdpMetadata,
} from "../../saml/metadata.ts";
import type { SamlContext } from "./context.ts";

const JITTER_MAX_MS = 5 * 60_000;

export type MetadataSource = { url: string } | { xml: string };

/** Fetches (URL) or takes (inline XML) metadata and validates it; throws `MetadataError`. */
export async function ingestMetadata(
  ctx: SamlContext,
  source: MetadataSource,
  tid: string,
): Promise<ParsedIdpMetadata> {
  let bytes: Uint8Array;
  if ("url" in source) {
    const fetched = await fetchMetadata(source.url, ctx.fetchRules());
    ctx.metrics.idpRoundtripDuration.observe(fetched.durationMs / 1000, { tid });
    bytes = fetched.bytes;
  } else {
    bytes = new TextEncoder().encode(source.xml);
  }
  return parseIdpMetadata(bytes, ctx.metadataRules());
}

/** The record after a successful refresh, plus what changed among the signing certificates. */
export function applyRefresh(
  ctx: SamlContext,
  record: IdpRecord,
  meta: ParsedIdpMetadata,
): { record: IdpRecord; added: string[]; retired: string[] } {
  const now = ctx.clock.now();
  const signingCerts = mergeSigningCerts(record.signingCerts, meta.signingCerts, {
    now,
    overlapHours: ctx.config.saml.idp.certOverlapHours,
    dropPrevious: false,
  });
  const before = new Map(record.signingCerts.map((c) => [c.sha256, c]));
  const added = signingCerts.filter((c) => !before.has(c.sha256)).map((c) => c.sha256);
  const retired = signingCerts
    .filter((c) => c.retireAfter !== null && before.get(c.sha256)?.retireAfter === null)
    .map((c) => c.sha256);
  const dropped = record.signingCerts.filter((c) => !signingCerts.some((n) => n.sha256 === c.sha256));
  retired.push(...dropped.map((c) => c.sha256));
  return {
    record: {
      ...record,
      ssoUrl: meta.ssoUrl,
      sloUrl: meta.sloUrl,
      sloBinding: meta.sloBinding,
      sloResponseUrl: meta.sloResponseUrl,
      signingCerts,
      encryptionCerts: encryptionCertsOf(meta.encryptionCerts),
      nameIdFormat: meta.nameIdFormat,
      metadataSha256: meta.metadataSha256,
      lastFetched: isoSeconds(now),
      lastRefreshError: "",
      refreshFailures: 0,
      updatedAt: isoSeconds(now),
    },
    added,
    retired,
  };
}

export type RefreshOutcome =
  | { kind: "updated"; record: IdpRecord; added: string[]; retired: string[] }
  | { kind: "failed"; error: MetadataError; record: IdpRecord }
  /** Someone else wrote the record meanwhile (their change wins) or holds the lock. */
  | { kind: "skipped"; reason: "concurrent_change" | "locked" | "not_refreshable" };

/**
 * Refreshes one tenant's record from its metadata URL. `useLock` is the background mode (§12.4);
 * the admin route refreshes without lock or interval (§11.3). Absent record → `IDP_NOT_FOUND`,
 * corrupt → `INTERNAL`; an inline-XML record → `MetadataError("IdP record has no metadata URL")`.
 */
export async function refreshIdp(
  ctx: SamlContext,
  tid: string,
  options: { useLock: boolean },
): Promise<RefreshOutcome> {
  const read = await ctx.idps.read(tid);
  if (read.kind === "absent") throw new TiktiError("IDP_NOT_FOUND");
  if (read.kind === "corrupt") {
    if (options.useLock) return { kind: "skipped", reason: "not_refreshable" };
    throw new TiktiError("INTERNAL", { cause: new Error(`saml:idp:${tid} is not a readable IdP record`) });
  }
  const { record, raw } = read;
  if (record.metadataUrl === "") {
    if (options.useLock) return { kind: "skipped", reason: "not_refreshable" };
    throw new MetadataError(METADATA_MESSAGES.noMetadataUrl);
  }
  if (options.useLock && !(await ctx.repos.refreshLocks.acquire(tid, ctx.replicaId))) {
    return { kind: "skipped", reason: "locked" };
  }
  const log = ctx.logger.child({ tenantId: tid });
  try {
    let meta: ParsedIdpMetadata;
    try {
      meta = await ingestMetadata(ctx, { url: record.metadataUrl }, tid);
      if (meta.entityId !== record.entityId) throw new MetadataError(METADATA_MESSAGES.entityIdChanged);
    } catch (e) {
      if (!(e instanceof MetadataError)) throw e;
      ctx.metrics.metadataRefresh.inc({ tid, result: "failure" });
      const failed: IdpRecord = {
        ...record,
        lastRefreshError: e.message,
        refreshFailures: record.refreshFailures + 1,
      };
      // Recording the error loses to a concurrent admin change, which is the fresher truth.
      const recorded = await ctx.idps.compareAndReplace(failed, raw);
      log.warn("IdP metadata refresh failed; keeping the last good record", {
        error: e.message,
        refreshFailures: failed.refreshFailures,
      });
      return { kind: "failed", error: e, record: recorded ? failed : record };
    }
    const next = applyRefresh(ctx, { ...record, generation: crypto.randomUUID() }, meta);
    if (!(await ctx.idps.compareAndReplace(next.record, raw))) {
      log.info("IdP record changed during the refresh; the other change wins");
      return { kind: "skipped", reason: "concurrent_change" };
    }
    ctx.metrics.metadataRefresh.inc({ tid, result: "success" });
    ctx.metrics.setIdpCertificates(tid, expirySources(next.record));
    if (next.added.length > 0 || next.retired.length > 0) {
      log.info("IdP signing certificates changed", { added: next.added, retired: next.retired });
    }
    return { kind: "updated", ...next };
  } finally {
    if (options.useLock) await ctx.repos.refreshLocks.release(tid, ctx.replicaId).catch(() => false);
  }
}

/** Whether a record is due for a background refresh (interval plus 0–5 minutes of jitter). */
export function isDue(record: IdpRecord, now: number, intervalHours: number, jitterMs: number): boolean {
  if (record.metadataUrl === "") return false;
  const last = Date.parse(record.lastFetched);
  if (Number.isNaN(last)) return true;
  return now - last > intervalHours * 3_600_000 + jitterMs;
}

export interface RefreshTickReport {
  checked: number;
  updated: string[];
  failed: string[];
  skipped: string[];
}

/**
 * One hourly pass (§12.4): updates the certificate-expiry gauges of every record and, with
 * `idp.backgroundRefresh`, refreshes the records that are due. Never throws (errors are logged).
 */
export async function refreshTick(
  ctx: SamlContext,
  random: () => number = Math.random,
): Promise<RefreshTickReport> {
  const report: RefreshTickReport = { checked: 0, updated: [], failed: [], skipped: [] };
  let entries: Awaited<ReturnType<SamlContext["idps"]["list"]>>;
  try {
    entries = await ctx.idps.list();
  } catch (error) {
    ctx.logger.warn("IdP refresh pass skipped: store unavailable", { error });
    return report;
  }
  const idp = ctx.config.saml.idp;
  for (const { tenantId, record } of entries) {
    report.checked++;
    ctx.metrics.setIdpCertificates(tenantId, record ? expirySources(record) : null);
    if (!record || !idp.backgroundRefresh) continue;
    if (!isDue(record, ctx.clock.now(), idp.refreshIntervalHours, random() * JITTER_MAX_MS)) continue;
    try {
      const outcome = await refreshIdp(ctx, tenantId, { useLock: true });
      if (outcome.kind === "updated") {
        report.updated.push(tenantId);
        if (outcome.added.length > 0 || outcome.retired.length > 0) {
          await ctx.audit.admin({
            action: "saml.idp.refresh",
            actor: "system",
            tenantId,
            targetId: record.entityId,
            requestId: "",
          });
        }
      } else if (outcome.kind === "failed") report.failed.push(tenantId);
      else report.skipped.push(tenantId);
    } catch (error) {
      report.failed.push(tenantId);
      ctx.logger.warn("IdP refresh failed", { tenantId, error });
    }
  }
  return report;
}
