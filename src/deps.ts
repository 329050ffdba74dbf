/**
 * Everything the pure core needs from the outside world, built by a runtime entry
 * (src/runtime/main.ts) or by a test. Nothing in the core reads env, files or sockets itself.
 */
import type { Clock } from "./clock.ts";
import type { Config } from "./config/schema.ts";
import type { AccessTokenSigner } from "./crypto/access-token.ts";
import type { Sha256Sync } from "./crypto/compare.ts";
import type { IdTokenSigner } from "./crypto/id-token.ts";
import type { KeyRing } from "./crypto/keyring.ts";
import type { PasswordHasher } from "./crypto/password.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { MetadataTransport } from "./saml/metadata.ts";
import type { KeyFileReader } from "./saml/sp-keys.ts";
import type { AuditSink } from "./services/audit.ts";
import type { KV } from "./store/kv.ts";

/** Shared, mutable process state the runtime flips on shutdown. */
export interface Lifecycle {
  shuttingDown: boolean;
}

/** What SAML needs from the outside world; without it no SP key loads and every metadata fetch fails. */
export interface SamlIo {
  /** Reads SP key files (src/runtime/saml-keys.ts). */
  readKeyFile?: KeyFileReader;
  /** Network for metadata URLs (src/runtime/saml-fetch.ts). */
  transport?: MetadataTransport;
}

/** An extra readiness check (e.g. SAML keys): returns "ok" or a short reason without secrets. */
export type ReadinessCheck = () => Promise<string> | string;

/**
 * Immutable after construction (docs/adr/0060-one-layering.md): every field is `readonly`, and the
 * configuration deeply so (`Config` is read-only all the way down); a test or runtime that needs another collaborator (an audit sink, a
 * hasher) builds the deps with it. `lifecycle` is the one deliberately mutable state the runtime flips.
 */
export interface AppDeps {
  readonly config: Config;
  readonly store: KV;
  readonly keys: KeyRing;
  /** HS256 idTokens; the key is imported once at start-up. */
  readonly idTokens: IdTokenSigner;
  /** RS256 access tokens with the active key (the fastest correct signer of the runtime). */
  readonly accessTokens: AccessTokenSigner;
  /** Native (Bun) or worker-pool (Node, Deno) password hashing, off the event loop. */
  readonly passwords: PasswordHasher;
  /** Where audit records go (stdout or a file), one JSON line per record. */
  readonly auditSink: AuditSink;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly lifecycle: Lifecycle;
  /** Identifies this replica in audit records. */
  readonly replicaId: string;
  /** A synchronous SHA-256 from the runtime (API-key checks); default Web Crypto. */
  readonly sha256Sync?: Sha256Sync;
  /**
   * Extra checks for /readyz, by name, passed in at construction; services add their own (SAML keys)
   * through `Services.readinessChecks`, never by writing here.
   */
  readonly readinessChecks?: Readonly<Record<string, ReadinessCheck>>;
  /** Key files and network for SAML (the runtime's); absent in tests of other wings and in tools. */
  readonly samlIo?: SamlIo;
  /** Process/runtime series appended to /metrics (from the runtime entry). */
  readonly processMetrics?: () => string;
}

/** Hono environment shared by every route and middleware. */
export interface ConnectionState {
  /**
   * Why the connection ended before the response was written: `client` (the peer closed or reset
   * it) or `timeout` (the server cut it at `http.requestTimeoutSeconds`); `undefined` while open.
   */
  closed(): "client" | "timeout" | undefined;
}

/** Response headers as a plain object (name → value). */
export type ResponseHeaders = Record<string, string>;

/**
 * The headers every answer of a request carries (request id, nosniff, no-store, CORS), decided by
 * the front middleware before the route runs (src/http/middleware/front.ts), and the answer the body
 * helpers (src/http/json-response.ts) built with them: when that answer is the one sent, the front
 * middleware neither sets its headers again nor re-reads its length.
 */
export interface AnswerHeaders {
  readonly headers: ResponseHeaders;
  res: Response | undefined;
  bytes: number;
}

export interface HonoEnv {
  Bindings: {
    /** Socket address of the peer, provided by the runtime adapter. */
    remoteAddr?: string;
    /** The state of the request's connection, provided by the runtime adapter. */
    connection?: ConnectionState;
  };
  Variables: {
    requestId: string;
    log: Logger;
    clientIp: string;
    /** Audit actor: `apiKey`, or `user:<localId>` when a valid admin bearer was presented. */
    actor: string;
    answer: AnswerHeaders;
  };
}
