/**
 * The one error type of Tikti and its code catalogue (docs/spec/api.md §2.1).
 *
 * Every failure that reaches a client is a `TiktiError` whose `code` is a key of `catalogue`; the
 * HTTP status and the public message come from here and nowhere else. Third-party errors (node-redis,
 * SQLite, jose, xml-crypto) are translated where they enter and kept as `cause`, so their text is
 * logged with the request id but never sent to a client.
 */

export const catalogue = {
  INVALID_REQUEST: { status: 400, message: "invalid request" },
  INVALID_ARGUMENT: { status: 400, message: "invalid argument" },
  INVALID_AUDIENCE: { status: 400, message: "invalid audience" },
  INVALID_TENANT: { status: 400, message: "invalid tenant" },
  TENANT_REQUIRED: { status: 400, message: "invalid tenant" },
  UNSUPPORTED_REVOCATION_SCOPE: {
    status: 400,
    message: "only global token revocation is supported; omit tenantId and use scope=global",
  },
  INVALID_SAML_METADATA: { status: 400, message: "invalid SAML metadata" },
  INVALID_REFRESH_TOKEN: { status: 400, message: "invalid refresh token" },
  API_KEY_INVALID: { status: 401, message: "Invalid or missing API key" },
  ADMIN_AUTH_REQUIRED: { status: 401, message: "missing authentication" },
  INVALID_CREDENTIALS: { status: 401, message: "invalid credentials" },
  INVALID_TOKEN: { status: 401, message: "invalid token" },
  INVALID_OOB_CODE: { status: 401, message: "invalid or expired code" },
  ADMIN_REQUIRED: { status: 403, message: "only admins can perform this action" },
  TENANT_ACCESS_DENIED: { status: 403, message: "invalid tenant" },
  UNAUTHORIZED_SCOPES: { status: 403, message: "unauthorized scopes" },
  UNAUTHORIZED_EVENT_TYPES: { status: 403, message: "unauthorized event types" },
  DELEGATION_DENIED: { status: 403, message: "subject override not allowed" },
  ACCOUNT_DISABLED: { status: 403, message: "invalid credentials" },
  FEDERATED_TOKEN_NOT_ALLOWED: {
    status: 403,
    message: "operation requires a password or email-code sign-in",
  },
  USER_NOT_FOUND: { status: 404, message: "user not found" },
  TENANT_NOT_FOUND: { status: 404, message: "tenant not found" },
  CLIENT_NOT_FOUND: { status: 404, message: "client not found" },
  ROLE_NOT_FOUND: { status: 404, message: "role not found" },
  MEMBERSHIP_NOT_FOUND: { status: 404, message: "membership not found" },
  IDP_NOT_FOUND: { status: 404, message: "SAML IdP not configured" },
  DOMAIN_NOT_FOUND: { status: 404, message: "domain not mapped" },
  NOT_FOUND: { status: 404, message: "not found" },
  METHOD_NOT_ALLOWED: { status: 405, message: "method not allowed" },
  EMAIL_EXISTS: { status: 409, message: "email already registered" },
  TENANT_EXISTS: { status: 409, message: "tenant already exists" },
  CLIENT_EXISTS: { status: 409, message: "client already exists" },
  IDP_EXISTS: { status: 409, message: "IdP already registered for tenant" },
  DOMAIN_CONFLICT: { status: 409, message: "domain is already mapped to another tenant" },
  ROTATION_STATE_CONFLICT: { status: 409, message: "rotation state conflict" },
  CONCURRENT_UPDATE: { status: 409, message: "concurrent update, retry" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "request body too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "unsupported media type" },
  RATE_LIMITED: { status: 429, message: "too many attempts" },
  JWKS_UNAVAILABLE: { status: 500, message: "jwks unavailable" },
  INTERNAL: { status: 500, message: "internal error" },
  STORE_UNAVAILABLE: { status: 503, message: "service unavailable" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof catalogue;

export interface TiktiErrorOptions {
  /** The original error (driver, parser, crypto). Logged, never sent to a client. */
  cause?: unknown;
  /** Per-field reasons or a `reason` string; sent to the client as `details`. */
  details?: Record<string, string>;
  /** Replaces the catalogue message where the spec gives a specific one (e.g. `IDP_EXISTS`). */
  message?: string;
  /**
   * When the caller may try again, in seconds (`RATE_LIMITED`, `STORE_UNAVAILABLE`). A fact of the
   * failure, not a header: the error → HTTP mappers (src/http/error-handler.ts, oauth-errors.ts, the
   * SAML error pages) turn it into `Retry-After`, so no service builds HTTP.
   */
  retryAfterSeconds?: number;
}

export class TiktiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, string> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: TiktiErrorOptions = {}) {
    super(options.message ?? catalogue[code].message, { cause: options.cause });
    this.name = "TiktiError";
    this.code = code;
    this.status = catalogue[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The documented error body (docs/spec/api.md §2.1). */
  toBody(): { error: string; code: ErrorCode; details?: Record<string, string> } {
    return this.details
      ? { error: this.message, code: this.code, details: this.details }
      : { error: this.message, code: this.code };
  }
}

export function isTiktiError(e: unknown): e is TiktiError {
  return e instanceof TiktiError;
}

/** A store failure: the engine could not answer (connection, timeout). Maps to 503. */
export function storeUnavailable(cause: unknown): TiktiError {
  return new TiktiError("STORE_UNAVAILABLE", { cause, retryAfterSeconds: 5 });
}
