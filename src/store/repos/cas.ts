/**
 * The compare-and-set loop of docs/spec/storage.md §4.2: read a hash field, compute the new value,
 * `CAS_HSET` it against the exact value read; on a lost race read again, at most
 * `MAX_CAS_ATTEMPTS` times, then `409 CONCURRENT_UPDATE`. Every change that must not be lost
 * (a `tokenVersion` bump above all) is part of the value written by the one winning `CAS_HSET`.
 */
import { TiktiError } from "../../errors.ts";
import type { KV } from "../kv.ts";

export const MAX_CAS_ATTEMPTS = 5;

export interface CasOutcome {
  /** The value the winning attempt read (`null` = field absent). */
  before: string | null;
  /** The value written, or `before` when the step asked for no write. */
  after: string | null;
  written: boolean;
}

/**
 * `step` gets the current value (`null` = absent) and returns the new value, or `null` for "no
 * change" (nothing is written). It may throw (e.g. not found); the error propagates at once.
 */
export async function casHashField(
  kv: KV,
  key: string,
  field: string,
  step: (current: string | null) => Promise<string | null> | string | null,
): Promise<CasOutcome> {
  for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
    const current = await kv.hget(key, field);
    const next = await step(current);
    if (next === null || next === current) return { before: current, after: current, written: false };
    if (await kv.casHset(key, field, current, next)) return { before: current, after: next, written: true };
  }
  throw new TiktiError("CONCURRENT_UPDATE");
}
