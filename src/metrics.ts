/**
 * A small Prometheus registry (text format 0.0.4) for the series of docs/spec/operations.md §6.
 *
 * Written here rather than taken from prom-client because the core must run unchanged on Bun,
 * Deno and Node without Node-only APIs; process metrics come from the runtime through a callback.
 */

type Labels = Record<string, string>;

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? "")}"`)
    .join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Series {
  render(): string;
}

export class Counter implements Series {
  readonly name: string;
  readonly help: string;
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Gauge implements Series {
  readonly name: string;
  readonly help: string;
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(labelKey(labels));
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

export class Histogram implements Series {
  readonly name: string;
  readonly help: string;
  private readonly buckets: number[];
  private readonly series = new Map<
    string,
    { counts: number[]; sum: number; count: number; labels: Labels }
  >();
  constructor(name: string, help: string, buckets: number[] = DEFAULT_BUCKETS) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
  }
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0, labels };
      this.series.set(k, s);
    }
    const counts = s.counts;
    // counts has one entry per bucket, each starting at 0.
    this.buckets.forEach((bound, i) => {
      if (value <= bound) counts[i] = (counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${labelKey({ ...s.labels, le: String(b) })}} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${labelKey({ ...s.labels, le: "+Inf" })}} ${s.count}`);
      const k = labelKey(s.labels);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** Every core series of docs/spec/operations.md §6, created once per process. */
export function createMetrics() {
  const registry: Series[] = [];
  const add = <T extends Series>(s: T): T => {
    registry.push(s);
    return s;
  };
  return {
    signIn: add(new Counter("tikti_signin_total", "Sign-in attempts by method and result")),
    signUp: add(new Counter("tikti_signup_total", "Sign-up attempts by result")),
    tokenExchange: add(new Counter("tikti_token_exchange_total", "Token exchanges by result and code")),
    lookup: add(new Counter("tikti_lookup_total", "Account lookups by result")),
    authFail: add(new Counter("tikti_auth_fail_total", "Authentication failures by route and code")),
    requestLatency: add(new Histogram("tikti_request_latency_seconds", "Request latency by route")),
    httpRequests: add(new Counter("tikti_http_requests_total", "HTTP requests by route, method and status")),
    rateLimited: add(new Counter("tikti_rate_limited_total", "Requests refused by a rate limit, by bucket")),
    tokenVersionBumps: add(new Counter("tikti_token_version_bumps_total", "Token version bumps by cause")),
    storeErrors: add(new Counter("tikti_store_errors_total", "Store errors by operation")),
    jwksKeys: add(new Gauge("tikti_jwks_keys", "Keys published in the JWKS")),
    auditFailures: add(new Counter("tikti_audit_failures_total", "Audit records that could not be written")),
    oauthTokenRequests: add(
      new Counter("tikti_oauth_token_requests_total", "POST /oauth/token requests by grant and result"),
    ),
    /** `result`: `success`, `reuse` (a family revoked: possible theft), `refused` (any other refusal). */
    refreshTokens: add(new Counter("tikti_refresh_tokens_total", "POST /accounts/token outcomes by result")),
    /** Extra series (SAML, migrations) register here. */
    register<T extends Series>(s: T): T {
      return add(s);
    },
    render(): string {
      return `${registry.map((s) => s.render()).join("\n")}\n`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
