/**
 * JSON encoding of the core entities (docs/spec/storage.md §2.1), shared by the repositories.
 *
 * Decoding is lenient where Go Tikti's encoder was (absent or `null` optional fields take their
 * documented defaults) and strict about everything else: a value that does not parse, is not a JSON
 * object, or holds a known field of the wrong type is corrupt and becomes `500 INTERNAL` (the cause
 * names the key, the field and the problem, never the value, which may hold an email or a hash).
 *
 * Encoding writes the known fields in a fixed order, then every unknown field of `raw`, so a
 * read-modify-write keeps what other releases stored.
 */
import type {
  AuthSource,
  Client,
  ClientJwks,
  Membership,
  RawRecord,
  Role,
  Tenant,
  User,
} from "../../domain/types.ts";
import { TiktiError } from "../../errors.ts";

export function corrupt(key: string, field: string, why: string): TiktiError {
  return new TiktiError("INTERNAL", { cause: new Error(`corrupt value in ${key} field ${field}: ${why}`) });
}

class Reader {
  readonly obj: Record<string, unknown>;
  readonly key: string;
  readonly field: string;

  constructor(key: string, field: string, text: string) {
    this.key = key;
    this.field = field;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw corrupt(key, field, "not JSON");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw corrupt(key, field, "not a JSON object");
    }
    this.obj = parsed as Record<string, unknown>;
  }

  fail(why: string): TiktiError {
    return corrupt(this.key, this.field, why);
  }

  /** Own property only: `__proto__` or `constructor` in stored JSON are plain unknown fields. */
  get(name: string): unknown {
    return Object.hasOwn(this.obj, name) ? this.obj[name] : undefined;
  }

  /** A string field; absent or `null` → `fallback`. */
  str(name: string, fallback = ""): string {
    const v = this.get(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "string") throw this.fail(`${name} is not a string`);
    return v;
  }

  /** Like `str`, but `""` also takes the fallback. */
  nonEmpty(name: string, fallback: string): string {
    const v = this.str(name);
    return v === "" ? fallback : v;
  }

  optStr(name: string): string | undefined {
    const v = this.str(name);
    return v === "" ? undefined : v;
  }

  /** A string array; absent or `null` → `undefined`. */
  optList(name: string): string[] | undefined {
    const v = this.get(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      throw this.fail(`${name} is not a list of strings`);
    }
    return [...(v as string[])];
  }

  list(name: string): string[] {
    return this.optList(name) ?? [];
  }

  /** A non-negative safe integer; absent or `null` → `undefined`. */
  optCount(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw this.fail(`${name} is not a non-negative integer`);
    }
    return v;
  }
}

/** Writes `value` as an own data property, so that a field named `__proto__` stays data. */
function define(out: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Known fields (in order, `undefined` omitted), then the fields of `raw` that are neither known
 * nor listed in `drop`. A known field set to `undefined` is omitted even when `raw` still has it,
 * so clearing an optional field sticks.
 */
function encode(
  known: Record<string, unknown>,
  raw: RawRecord | undefined,
  drop: readonly string[] = [],
): string {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(known)) if (value !== undefined) define(out, name, value);
  if (raw) {
    for (const [name, value] of Object.entries(raw)) {
      if (!Object.hasOwn(known, name) && !drop.includes(name)) define(out, name, value);
    }
  }
  return JSON.stringify(out);
}

/** First-occurrence order, duplicates removed. */
export function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

// ---------------------------------------------------------------- users

/** A `users_v2` (or legacy `users`) value. `fallbackId` is the hash field for `users_v2`. */
export function decodeUser(key: string, field: string, text: string, fallbackId = ""): User {
  const r = new Reader(key, field, text);
  const authSource = r.nonEmpty("authSource", "password");
  if (authSource !== "password" && authSource !== "saml") throw r.fail("authSource is unknown");
  return {
    // Legacy records carry the id as `Id` (docs/spec/storage.md §2.1); readers accept both.
    localId: r.nonEmpty("localId", r.nonEmpty("Id", fallbackId)),
    email: r.str("email"),
    password: r.str("password"),
    role: r.str("role"),
    status: r.str("status"),
    companyId: r.optStr("companyId"),
    tokenVersion: r.optCount("tokenVersion") ?? 0,
    createdAt: r.str("createdAt"),
    authSource: authSource as AuthSource,
    externalSubject: r.str("externalSubject"),
    raw: r.obj,
  };
}

export function encodeUser(u: User): string {
  return encode(
    {
      localId: u.localId,
      email: u.email,
      password: u.password,
      role: u.role,
      status: u.status,
      // Omitted when empty (docs/spec/storage.md §2.1).
      companyId: u.companyId ? u.companyId : undefined,
      tokenVersion: u.tokenVersion,
      createdAt: u.createdAt,
      authSource: u.authSource,
      externalSubject: u.externalSubject,
    },
    u.raw,
    // Writers write `localId` only (docs/spec/storage.md §2.1).
    ["Id"],
  );
}

// ---------------------------------------------------------------- tenants

export function decodeTenant(key: string, field: string, text: string): Tenant {
  const r = new Reader(key, field, text);
  return {
    id: r.nonEmpty("id", field),
    slug: r.str("slug"),
    name: r.str("name"),
    status: r.str("status"),
    createdAt: r.str("createdAt"),
    raw: r.obj,
  };
}

export function encodeTenant(t: Tenant): string {
  return encode({ id: t.id, slug: t.slug, name: t.name, status: t.status, createdAt: t.createdAt }, t.raw);
}

// ---------------------------------------------------------------- memberships

export function decodeMembership(key: string, tenantId: string, userId: string, text: string): Membership {
  const r = new Reader(key, userId, text);
  return {
    id: r.str("id"),
    tenantId: r.nonEmpty("tenantId", tenantId),
    userId: r.nonEmpty("userId", userId),
    // Go wrote `null` for a nil slice; `roles` is always an array from here on.
    roles: r.list("roles"),
    createdAt: r.str("createdAt"),
    raw: r.obj,
  };
}

export function encodeMembership(m: Membership): string {
  return encode(
    { id: m.id, tenantId: m.tenantId, userId: m.userId, roles: [...m.roles], createdAt: m.createdAt },
    m.raw,
  );
}

// ---------------------------------------------------------------- roles

/**
 * A `roles:{tenantId}` value. Corrupt (docs/spec/storage.md §2.1) when it does not parse or its `name`
 * differs from the hash field.
 */
export function decodeRole(key: string, tenantId: string, name: string, text: string): Role {
  const r = new Reader(key, name, text);
  if (r.get("name") !== name) throw r.fail("name differs from the hash field");
  return {
    name,
    scope: r.nonEmpty("scope", "TENANT"),
    tenantId: r.nonEmpty("tenantId", tenantId),
    permissions: dedupe(r.list("permissions")),
    raw: r.obj,
  };
}

export function encodeRole(role: Role): string {
  return encode(
    { name: role.name, scope: role.scope, tenantId: role.tenantId, permissions: dedupe(role.permissions) },
    role.raw,
  );
}

// ---------------------------------------------------------------- clients

/** A `clients:{tenantId}` value, normalised as docs/spec/api.md §2.11.8 requires of responses. */
export function decodeClient(key: string, tenantId: string, clientId: string, text: string): Client {
  const r = new Reader(key, clientId, text);
  return {
    clientId: r.nonEmpty("clientId", clientId),
    tenantId: r.nonEmpty("tenantId", tenantId),
    secretHash: r.str("secretHash"),
    type: r.str("type").toUpperCase(),
    allowedGrantTypes: r.list("allowedGrantTypes"),
    defaultScopes: r.list("defaultScopes"),
    status: r.str("status"),
    allowedEventTypes: r.optList("allowedEventTypes"),
    maxTtlSeconds: r.optCount("maxTtlSeconds"),
    roles: r.optList("roles"),
    jwks: readJwks(r),
    previousSecretHash: r.optStr("previousSecretHash"),
    previousSecretExpiresAt: r.optStr("previousSecretExpiresAt"),
    createdAt: r.optStr("createdAt"),
    raw: r.obj,
  };
}

/** `jwks`: absent/`null` → undefined; anything but `{"keys": [object, ...]}` is corrupt. */
function readJwks(r: Reader): ClientJwks | undefined {
  const v = r.get("jwks");
  if (v === undefined || v === null) return undefined;
  const keys = typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>).keys : undefined;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "object" && k !== null && !Array.isArray(k))) {
    throw r.fail("jwks is not a key set");
  }
  return { keys: keys.map((k) => ({ ...(k as Record<string, unknown>) })) };
}

export function encodeClient(c: Client): string {
  return encode(
    {
      clientId: c.clientId,
      tenantId: c.tenantId,
      secretHash: c.secretHash,
      type: c.type,
      allowedGrantTypes: [...c.allowedGrantTypes],
      defaultScopes: [...c.defaultScopes],
      status: c.status,
      allowedEventTypes: c.allowedEventTypes ? [...c.allowedEventTypes] : undefined,
      maxTtlSeconds: c.maxTtlSeconds,
      roles: c.roles ? [...c.roles] : undefined,
      jwks: c.jwks ? { keys: c.jwks.keys.map((k) => ({ ...k })) } : undefined,
      previousSecretHash: c.previousSecretHash,
      previousSecretExpiresAt: c.previousSecretExpiresAt,
      createdAt: c.createdAt,
    },
    c.raw,
  );
}
