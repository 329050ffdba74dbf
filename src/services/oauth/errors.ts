/**
 * The domain error of the OAuth endpoints (docs/spec/oauth.md §9, RFC 6749 §5.2). Services throw it;
 * src/http/oauth-errors.ts is the one place that turns it (and any TiktiError reaching an OAuth
 * route) into the RFC body `{"error","error_description"}` with its status and headers.
 */

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_grant"
  | "invalid_scope"
  | "invalid_target"
  | "temporarily_unavailable"
  | "server_error";

/** docs/spec/oauth.md §9; `invalid_request` may also be 413 (body too large), `temporarily_unavailable` 503. */
const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_grant: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 429,
  server_error: 500,
};

export interface OAuthErrorOptions {
  /** Overrides the default status of the code (413 for an oversized body, 503 for the store). */
  status?: number;
  /** The client tried HTTP Basic: a 401 then carries `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
  basic?: boolean;
  /** Seconds for `Retry-After` (rate limits, store outage). */
  retryAfterSeconds?: number;
  /** Why, for the decision log only (never sent: failures never say which part was wrong). */
  reason?: string;
  cause?: unknown;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Sent as `error_description`: short, fixed texts that reveal nothing about stored data. */
  readonly description: string;
  readonly basic: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly reason: string | undefined;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(`${error}: ${description}`, { cause: options.cause });
    this.name = "OAuthError";
    this.error = error;
    this.status = options.status ?? STATUS[error];
    this.description = description;
    this.basic = options.basic ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.reason = options.reason;
  }

  toBody(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export function isOAuthError(e: unknown): e is OAuthError {
  return e instanceof OAuthError;
}

/** The one answer to every client-authentication failure (docs/spec/oauth.md §2: never says which part). */
export function invalidClient(reason: string, basic = false): OAuthError {
  return new OAuthError("invalid_client", "client authentication failed", { basic, reason });
}
