/**
 * The SAML series of docs/spec/saml.md §14, named `<namespace>_<subsystem>_<name>` (`tikti_saml_` by
 * default) and registered once per metrics registry.
 *
 * Certificate-expiry gauges and the rotation state are computed when `/metrics` is rendered (seconds
 * left = notAfter − now at scrape time), so they never go stale between refreshes.
 */

import type { Clock } from "../clock.ts";
import type { Config } from "../config/schema.ts";
import { Counter, Gauge, Histogram, type Metrics } from "../metrics.ts";

const VALIDATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k] ?? "")}"`).join(",")}}`;
}

/** A gauge whose samples are produced at render time. */
export class ComputedGauge {
  readonly name: string;
  readonly help: string;
  private readonly collect: () => Array<{ labels: Record<string, string>; value: number }>;
  constructor(
    name: string,
    help: string,
    collect: () => Array<{ labels: Record<string, string>; value: number }>,
  ) {
    this.name = name;
    this.help = help;
    this.collect = collect;
  }
  samples(): Array<{ labels: Record<string, string>; value: number }> {
    return this.collect();
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const s of this.collect()) lines.push(`${this.name}${labelText(s.labels)} ${s.value}`);
    return lines.join("\n");
  }
}

export interface CertExpirySource {
  subject: string;
  /** Milliseconds since the epoch. */
  notAfter: number;
}

export interface SamlMetrics {
  authnRequests: Counter;
  responses: Counter;
  validationFailures: Counter;
  responseValidationDuration: Histogram;
  replayBlocked: Counter;
  jitProvisions: Counter;
  tidOverrideIgnored: Counter;
  stateRepost: Counter;
  logoutRequests: Counter;
  logoutResponses: Counter;
  metadataRefresh: Counter;
  idpRoundtripDuration: Histogram;
  idpAdminChanges: Counter;
  observedClockSkew: Gauge;
  auditFailures: Counter;
  idpCertExpiry: ComputedGauge;
  spCertExpiry: ComputedGauge;
  spRotationState: ComputedGauge;
  /** Replaces the pinned signing certificates shown for `tid` (empty list or `null` removes them). */
  setIdpCertificates(tid: string, certs: readonly CertExpirySource[] | null): void;
  /** Where the SP certificates and the rotation state come from (set once the SAML context exists). */
  setSpSources(sources: { current(): number | null; next(): number | null; rotationState(): number }): void;
}

const registries = new WeakMap<Metrics, SamlMetrics>();

/** The SAML series on `metrics`, created and registered on first use. */
export function samlMetrics(metrics: Metrics, config: Config, clock: Clock): SamlMetrics {
  const existing = registries.get(metrics);
  if (existing) return existing;
  const prefix = `${config.saml.metrics.namespace}_${config.saml.metrics.subsystem}_`;
  const counter = (name: string, help: string) => metrics.register(new Counter(prefix + name, help));
  const seconds = (ms: number) => Math.round((ms - clock.now()) / 1000);

  const idpCerts = new Map<string, readonly CertExpirySource[]>();
  let sp: { current(): number | null; next(): number | null; rotationState(): number } = {
    current: () => null,
    next: () => null,
    rotationState: () => 0,
  };

  const result: SamlMetrics = {
    authnRequests: counter("authn_requests_total", "AuthnRequests sent, by tenant"),
    responses: counter("responses_total", "SAML responses by tenant and result"),
    validationFailures: counter("validation_failures_total", "Rejected SAML responses by tenant and reason"),
    responseValidationDuration: metrics.register(
      new Histogram(
        `${prefix}response_validation_duration_seconds`,
        "Time to validate a SAML response, by tenant",
        VALIDATION_BUCKETS,
      ),
    ),
    replayBlocked: counter("replay_blocked_total", "Replayed assertions refused, by tenant"),
    jitProvisions: counter("jit_provisions_total", "Users created by SAML JIT provisioning, by tenant"),
    tidOverrideIgnored: counter("tid_override_ignored_total", "Tenant attributes removed from assertions"),
    stateRepost: counter("state_repost_total", "State-cookie repost pages by result"),
    logoutRequests: counter("logout_requests_total", "Logout requests by tenant and direction"),
    logoutResponses: counter("logout_responses_total", "Logout responses by tenant and result"),
    metadataRefresh: counter("metadata_refresh_total", "IdP metadata refreshes by tenant and result"),
    idpRoundtripDuration: metrics.register(
      new Histogram(`${prefix}idp_roundtrip_duration_seconds`, "IdP metadata fetch duration, by tenant"),
    ),
    idpAdminChanges: counter("idp_admin_changes_total", "IdP record changes through the admin API"),
    observedClockSkew: metrics.register(
      new Gauge(`${prefix}observed_clock_skew_seconds`, "IdP IssueInstant minus local time at acceptance"),
    ),
    auditFailures: counter("audit_failures_total", "SAML audit records that could not be written"),
    idpCertExpiry: metrics.register(
      new ComputedGauge(
        `${prefix}idp_cert_expiry_seconds`,
        "Seconds until a pinned IdP signing certificate expires",
        () => {
          const out: Array<{ labels: Record<string, string>; value: number }> = [];
          for (const [tid, certs] of [...idpCerts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
            // One series per subject: an IdP rolling its certificate keeps the subject, and the newest
            // certificate is the one that decides whether logins keep working.
            const bySubject = new Map<string, number>();
            for (const c of certs)
              bySubject.set(c.subject, Math.max(bySubject.get(c.subject) ?? -Infinity, c.notAfter));
            for (const [subject, notAfter] of bySubject)
              out.push({ labels: { tid, subject }, value: seconds(notAfter) });
          }
          return out;
        },
      ),
    ),
    spCertExpiry: metrics.register(
      new ComputedGauge(`${prefix}sp_cert_expiry_seconds`, "Seconds until an SP certificate expires", () => {
        const out: Array<{ labels: Record<string, string>; value: number }> = [];
        const current = sp.current();
        const next = sp.next();
        if (current !== null) out.push({ labels: { key: "current" }, value: seconds(current) });
        if (next !== null) out.push({ labels: { key: "next" }, value: seconds(next) });
        return out;
      }),
    ),
    spRotationState: metrics.register(
      new ComputedGauge(
        `${prefix}sp_rotation_state`,
        "SP key rotation state (0 none, 1 prepared, 2 committed)",
        () => [{ labels: {}, value: sp.rotationState() }],
      ),
    ),
    setIdpCertificates(tid, certs) {
      if (!certs || certs.length === 0) idpCerts.delete(tid);
      else idpCerts.set(tid, [...certs]);
    },
    setSpSources(sources) {
      sp = sources;
    },
  };
  registries.set(metrics, result);
  return result;
}
