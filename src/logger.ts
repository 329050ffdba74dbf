/**
 * Structured JSON logging (docs/spec/operations.md §7): one object per line with `ts`, `level`, `msg`
 * and context fields. The sink is injected by the runtime entry, so the core never touches stdout.
 *
 * Callers must not pass secrets, tokens, passwords, SAML XML, emails or NameIDs in clear; use
 * `hashForLog` when a value is needed for correlation.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the request id). */
  child(fields: LogFields): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  write: (line: string) => void,
  level: LogLevel = "info",
  base: LogFields = {},
): Logger {
  const min = order[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (order[lvl] < min) return;
    const record: LogFields = { ts: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    write(JSON.stringify(record, errorReplacer));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(write, level, { ...base, ...fields }),
  };
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

// Errors serialise as {name, message, code?, cause?}; JSON.stringify would otherwise print `{}`.
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = value.cause;
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** `sha256:<first 16 hex>` of a value, for correlating emails, NameIDs or keys in logs. */
export async function hashForLog(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return `sha256:${hex.slice(0, 16)}`;
}
