/**
 * The migration lock of docs/spec/cli.md §8 and docs/spec/storage.md §3: `SET tikti:migrations:lock
 * <host>:<pid>:<uuid> NX EX 600`, refreshed every 60 s (`CAS_SET` against our own holder id, so a
 * lock that expired and was taken by another run is never extended), released with `CAS_DEL` at
 * exit. A held lock is refused, not waited for: two runs never interleave.
 */
import { keys } from "../src/store/keys.ts";
import type { KV } from "../src/store/kv.ts";

export const LOCK_TTL_MS = 600_000;
export const LOCK_REFRESH_MS = 60_000;

export class LockHeldError extends Error {
  readonly holder: string;
  constructor(holder: string) {
    super(`another migration is running (${holder})`);
    this.name = "LockHeldError";
    this.holder = holder;
  }
}

export interface MigrationLock {
  readonly holder: string;
  /** Throws when a refresh found the lock gone or taken over. */
  assertHeld(): void;
  release(): Promise<void>;
}

export async function acquireLock(
  kv: KV,
  holder: string,
  options: { refreshMs?: number; onRefreshError?: (err: unknown) => void } = {},
): Promise<MigrationLock> {
  const key = keys.migrationsLock();
  for (let attempt = 0; ; attempt++) {
    if (await kv.set(key, holder, { nx: true, ttlMs: LOCK_TTL_MS })) break;
    const current = await kv.get(key);
    // Expired between the two commands: try once more.
    if (current !== null || attempt > 0) throw new LockHeldError(current ?? "unknown");
  }
  let lost = false;
  let released = false;
  const timer = setInterval(() => {
    kv.casSet(key, holder, holder, LOCK_TTL_MS).then(
      (ok) => {
        if (!ok && !released) lost = true;
      },
      // A failed refresh is not a lost lock (it still has up to 10 minutes); the next store
      // command of the migration meets the same outage and stops the run.
      (err) => options.onRefreshError?.(err),
    );
  }, options.refreshMs ?? LOCK_REFRESH_MS);
  (timer as { unref?: () => void }).unref?.();
  return {
    holder,
    assertHeld() {
      if (lost) throw new Error(`migration lock ${key} was lost (expired or taken over); stopping`);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await kv.casDel(key, holder);
    },
  };
}
