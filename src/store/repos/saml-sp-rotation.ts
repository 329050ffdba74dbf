/**
 * The SP key rotation state `saml:sp:rotation` (docs/spec/saml.md §13; docs/spec/storage.md §3): one JSON
 * record, changed only with `CAS_SET`/`CAS_DEL` against the exact value read, so two operators (or two
 * replicas) cannot interleave a prepare and a commit. A value that is not a record (a Go-era msgpack
 * value, docs/spec/storage.md §6) reads as no rotation and is replaced by the next prepare.
 */
import { keys } from "../keys.ts";
import type { RepoDeps } from "./deps.ts";

export interface RotationRecord {
  state: "prepared" | "committed";
  currentSha256: string;
  nextSha256: string;
  preparedAt: string;
  commitNotBefore: string;
  committedAt: string | null;
}

export interface RotationRead {
  /** The stored value, what a write must expect; `null` when absent. */
  raw: string | null;
  /** The decoded record; `null` when absent or unreadable (`raw` tells them apart). */
  record: RotationRecord | null;
}

export interface SpRotationStateRepo {
  read(): Promise<RotationRead>;
  /**
   * ★ `CAS_SET` from `expected` to `next`, or `CAS_DEL` of `expected` when `next` is null (nothing
   * to delete when `expected` is null too). False when another writer changed the value meanwhile.
   */
  write(expected: string | null, next: RotationRecord | null): Promise<boolean>;
}

function isRecord(v: unknown): v is RotationRecord {
  if (v === null || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return (
    (r.state === "prepared" || r.state === "committed") &&
    typeof r.currentSha256 === "string" &&
    typeof r.nextSha256 === "string" &&
    typeof r.preparedAt === "string" &&
    typeof r.commitNotBefore === "string" &&
    (r.committedAt === undefined || r.committedAt === null || typeof r.committedAt === "string")
  );
}

/** The stored value as a record (`committedAt` absent reads as null); `null` when it is not one. */
export function decodeRotationRecord(raw: string): RotationRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  return isRecord(parsed) ? { ...parsed, committedAt: parsed.committedAt ?? null } : null;
}

export function createSpRotationStateRepo(deps: Pick<RepoDeps, "kv">): SpRotationStateRepo {
  const { kv } = deps;
  const key = keys.samlRotation();
  return {
    async read() {
      const raw = await kv.get(key);
      return { raw, record: raw === null ? null : decodeRotationRecord(raw) };
    },
    async write(expected, next) {
      if (next === null) return expected === null || kv.casDel(key, expected);
      return kv.casSet(key, expected, JSON.stringify(next));
    },
  };
}
