/**
 * The password pool's hashing threads run at the lowest CPU priority on Linux
 * (docs/adr/0116-hashing-threads-at-low-priority.md), the event loop's thread at the normal one, and
 * hashing still answers correctly from such a thread.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createPasswordHasher, type PasswordHashPolicy } from "../../src/crypto/password.ts";
import { createPasswordWorkerPool, HASH_THREAD_NICENESS } from "../../src/runtime/password-pool.ts";

const POLICY: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 4,
  scrypt: { ln: 4, r: 8, p: 1 },
  argon2id: { m: 256, t: 1, p: 1 },
};

/** Nice value of every thread of this process, by thread id (Linux /proc). */
function threadNiceness(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe.runIf(process.platform === "linux")("hashing threads' priority (Linux)", () => {
  it("starts each hashing thread at nice 19 and leaves the event loop's thread alone", async () => {
    const before = threadNiceness();
    const pool = createPasswordWorkerPool({ size: 2 });
    try {
      await pool.warmUp();
      const hasher = createPasswordHasher(POLICY, pool.engine);
      const stored = await hasher.hash("correct horse");
      expect(await hasher.verify("correct horse", stored)).toBe(true);
      expect(await hasher.verify("wrong horse", stored)).toBe(false);
      const after = threadNiceness();
      const started = [...after].filter(([tid]) => !before.has(tid));
      const lowered = started.filter(([, nice]) => nice === HASH_THREAD_NICENESS);
      expect(HASH_THREAD_NICENESS).toBe(19);
      // Two workers (each may start helper threads of its own, which inherit its priority).
      expect(lowered.length).toBeGreaterThanOrEqual(2);
      expect(after.get(process.pid)).toBe(before.get(process.pid));
    } finally {
      await pool.close();
    }
  });

  it("keeps the normal priority with niceness 0", async () => {
    const before = threadNiceness();
    const pool = createPasswordWorkerPool({ size: 1, niceness: 0 });
    try {
      await pool.warmUp();
      const started = [...threadNiceness()].filter(([tid]) => !before.has(tid));
      expect(started.length).toBeGreaterThan(0);
      expect(started.every(([, nice]) => nice === before.get(process.pid))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
