/**
 * The CLI's failures and the ONE place that turns them into exit codes and error lines
 * (docs/spec/cli.md §4). Commands throw `CliError` (local problems) or let `HttpError` (a non-2xx
 * answer, cli/http.ts) escape; citty's own argument errors are treated as invalid flags.
 */

/** Local failure kinds and their exit codes (docs/spec/cli.md §4). */
export const LOCAL_ERRORS = {
  /** invalid or missing flags, bad flag values, refused local actions */
  USAGE: 1,
  /** the server could not be reached, or did not answer in time */
  NETWORK: 1,
  /** a local file could not be written (e.g. `keys generate --out` onto an existing file) */
  LOCAL: 1,
  /** no stored token for a command that needs one */
  NOT_LOGGED_IN: 2,
  /** missing profile, unreadable/invalid/unsafe config file, missing base URL */
  CONFIG: 3,
} as const;

export type LocalErrorCode = keyof typeof LOCAL_ERRORS;

export class CliError extends Error {
  readonly code: LocalErrorCode;
  constructor(code: LocalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
  }
}

/** A non-2xx answer from the server: the documented error body (docs/spec/api.md §2.1) and our request id. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly requestId: string;
  constructor(init: {
    status: number;
    error: string;
    code: string;
    details?: Record<string, unknown> | undefined;
    requestId: string;
  }) {
    super(init.error);
    this.name = "HttpError";
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
  }
}

export const usage = (message: string) => new CliError("USAGE", message);
export const configError = (message: string) => new CliError("CONFIG", message);
export const notLoggedIn = (message: string) => new CliError("NOT_LOGGED_IN", message);

/** docs/spec/cli.md §4: 401/403 are authentication errors (2); every other HTTP failure is 1. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof HttpError) return error.status === 401 || error.status === 403 ? 2 : 1;
  if (error instanceof CliError) return LOCAL_ERRORS[error.code];
  return 1;
}

/** The JSON error document of docs/spec/cli.md §4. */
export interface ErrorDocument {
  status: number | null;
  error: string;
  code: string;
  requestId: string;
  details?: Record<string, unknown>;
}

export function errorDocument(error: unknown, requestId: string): ErrorDocument {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      error: error.message,
      code: error.code,
      requestId: error.requestId,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  if (error instanceof CliError) return { status: null, error: error.message, code: error.code, requestId };
  // citty's argument errors (missing required flag, bad enum value) are invalid flags.
  if (error instanceof Error && error.name === "CLIError") {
    return { status: null, error: stripAnsi(error.message), code: "USAGE", requestId };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: null, error: `unexpected failure: ${message}`, code: "INTERNAL", requestId };
}

/** The pretty error line(s): `error (<status>): <error> [<code>] (request <id>)` or `error: <message>`. */
export function errorLines(doc: ErrorDocument): string[] {
  if (doc.status === null) {
    // A network failure did send a request: its id is worth quoting to whoever reads the server logs.
    return [
      doc.code === "NETWORK" ? `error: ${doc.error} (request ${doc.requestId})` : `error: ${doc.error}`,
    ];
  }
  const lines = [`error (${doc.status}): ${doc.error} [${doc.code}] (request ${doc.requestId})`];
  for (const [field, reason] of Object.entries(doc.details ?? {})) {
    lines.push(`  ${field}: ${typeof reason === "string" ? reason : JSON.stringify(reason)}`);
  }
  return lines;
}

export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}
