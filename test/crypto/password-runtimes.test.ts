import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import type { PasswordHashPolicy } from "../../src/crypto/password.ts";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import { createPooledPasswordHasher } from "../../src/runtime/password-pool.ts";

const root = join(import.meta.dirname, "../..");
const POLICY: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 10,
  scrypt: { ln: 15, r: 8, p: 1 },
  argon2id: { m: 19_456, t: 2, p: 1 },
};
const P2: PasswordHashPolicy = { ...POLICY, argon2id: { m: 19_456, t: 2, p: 2 } };
const BCRYPT: PasswordHashPolicy = { ...POLICY, scheme: "bcrypt" };
const SCRYPT: PasswordHashPolicy = { ...POLICY, scheme: "scrypt" };
const PASSWORD = "correct horse ✓ battery";

function runScript(runtime: "bun" | "deno", script: string, arg?: string): unknown {
  const bin = runtimeBinary(runtime) as string;
  const args = runtime === "deno" ? ["run", "--allow-read", script] : [script];
  if (arg !== undefined) args.push(arg);
  const stdout = execFileSync(bin, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("worker pool (Node)", () => {
  const pool = createPooledPasswordHasher(POLICY, { size: 2 });
  afterAll(() => pool.close());

  // Timing-based: retried, since a loaded CI machine can deschedule the test process itself.
  it("keeps the event loop free while 4 hashes run", { retry: 2 }, async () => {
    await pool.warmUp();
    /** The longest pause between 5 ms timer ticks while `work` runs. */
    const longestPause = async (work: () => Promise<unknown>) => {
      let maxGap = 0;
      let ticks = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 5);
      const t0 = performance.now();
      await work();
      const ms = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 10)); // let the timer observe the end of the work
      clearInterval(timer);
      return { maxGap, ticks, ms };
    };

    // Control: one hash in this thread stalls the loop for about its whole duration.
    const inProcess = createInProcessPasswordHasher(POLICY);
    await inProcess.hash("warm-up");
    const control = await longestPause(() => inProcess.hash(PASSWORD));
    expect(control.maxGap).toBeGreaterThan(control.ms * 0.7);

    let hashes: string[] = [];
    const pooled = await longestPause(async () => {
      hashes = await Promise.all([1, 2, 3, 4].map((i) => pool.hash(`${PASSWORD}${i}`)));
    });
    expect(hashes.every((h) => h.startsWith("$argon2id$v=19$m=19456,t=2,p=1$"))).toBe(true);
    expect(pooled.ms).toBeGreaterThan(control.ms); // the work was real
    expect(pooled.ticks).toBeGreaterThan(pooled.ms / 5 / 3);
    expect(pooled.maxGap).toBeLessThan(control.ms / 2);
  });

  it("verifies what it hashes, in every scheme, and what the in-process engine wrote", async () => {
    for (const policy of [POLICY, P2, BCRYPT, SCRYPT]) {
      const pooled = createPooledPasswordHasher(policy, { size: 1 });
      const stored = await pooled.hash(PASSWORD);
      expect(await pooled.verify(PASSWORD, stored)).toBe(true);
      expect(await pooled.verify(`${PASSWORD}x`, stored)).toBe(false);
      const local = await createInProcessPasswordHasher(policy).hash(PASSWORD);
      expect(await pooled.verify(PASSWORD, local)).toBe(true);
      await pooled.close();
    }
  });

  it("fails queued work after close, without hanging", async () => {
    const pooled = createPooledPasswordHasher(POLICY, { size: 1 });
    const pending = pooled.hash(PASSWORD).catch((e: unknown) => e);
    await pooled.close();
    expect(String(await pending)).toMatch(/closed/);
    await expect(pooled.hash(PASSWORD)).rejects.toThrow(/closed/);
  });
});

describe("worker pool on Deno (node:worker_threads)", () => {
  it("verifies the reference vector, round-trips every scheme and keeps the loop free", { retry: 2 }, () => {
    const out = runScript("deno", "test/crypto/support/pool-runtime.ts") as Record<string, unknown>;
    expect(out).toMatchObject({
      reference: true,
      referenceWrong: false,
      roundTrip: true,
      argon2idOk: true,
      bcryptOk: true,
      scryptOk: true,
    });
    // One argon2id hash at the defaults takes about 70 ms there (hashMs.argon2id).
    expect(out.maxGapMs as number).toBeLessThan((out.hashMs as { argon2id: number }).argon2id / 2);
  });
});

describe("PHC strings round-trip between the portable engine (Node) and Bun", () => {
  interface BunOutput {
    verified: Array<{ stored: string; right: boolean; wrong: boolean; bunPasswordVerify: boolean | null }>;
    checks: boolean[];
    hashed: Array<{ policy: PasswordHashPolicy; stored: string; ms: number }>;
    fallbackStored: Array<{ stored: string; right: boolean; wrong: boolean }>;
    bunPassword: { argon2id: string; bcrypt: string };
  }
  let out: BunOutput;

  it("Bun verifies hashes written on Node (its hasher and Bun.password itself)", async () => {
    const verify = [];
    for (const policy of [POLICY, P2, BCRYPT, SCRYPT]) {
      verify.push(await createInProcessPasswordHasher(policy).hash(PASSWORD));
    }
    // htpasswd fixtures of password.test.ts: 72-byte semantics must hold on Bun too.
    const a72 = "$2y$04$wH1QkalCD2m9yxDmkj4uBeo9IZvkRSwIhDX0cTiYg7yE2BlyTLiOq";
    const checks = [
      { password: "password", stored: "$2y$10$uMB41ItiY/45YRtB0Jxure18hvq9NCxQj4VzURBy1Z2DJA7y5NT6S" },
      { password: "a".repeat(72), stored: a72 },
      { password: "a".repeat(80), stored: a72 },
      { password: "a".repeat(71), stored: a72 },
      {
        password: "password",
        stored: "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      },
    ];
    const input = { policy: POLICY, password: PASSWORD, verify, hash: [POLICY, P2, BCRYPT, SCRYPT], checks };
    out = runScript("bun", "test/crypto/support/bun-passwords.ts", JSON.stringify(input)) as BunOutput;
    expect(out.verified.map((v) => [v.right, v.wrong, v.bunPasswordVerify])).toEqual([
      [true, false, true],
      [true, false, true],
      [true, false, true],
      [true, false, null], // Bun.password has no scrypt
    ]);
    expect(out.checks).toEqual([true, true, true, false, true]);
  });

  it("Node verifies hashes written on Bun, in exactly the stored form of §2.5", async () => {
    const forms = [
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
      /^\$argon2id\$v=19\$m=19456,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
      /^\$2b\$10\$[./A-Za-z0-9]{53}$/,
      /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    ];
    for (const [i, h] of out.hashed.entries()) {
      expect(h.stored).toMatch(forms[i]!);
      const node = createInProcessPasswordHasher(h.policy);
      expect(await node.verify(PASSWORD, h.stored)).toBe(true);
      expect(await node.verify(`${PASSWORD}x`, h.stored)).toBe(false);
      expect(node.needsRehash(h.stored)).toBe(false);
    }
    // The worker-pool fallback on Bun writes the same forms.
    for (const [i, f] of out.fallbackStored.entries()) {
      expect(f.stored).toMatch(forms[i]!);
      expect([f.right, f.wrong]).toEqual([true, false]);
      expect(await createInProcessPasswordHasher(out.hashed[i]!.policy).verify(PASSWORD, f.stored)).toBe(
        true,
      );
    }
  });

  it("hashes written by Bun.password itself (32-byte argon2id salt) verify on Node", async () => {
    const node = createInProcessPasswordHasher(POLICY);
    expect(out.bunPassword.argon2id).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{43}\$/);
    expect(await node.verify(PASSWORD, out.bunPassword.argon2id)).toBe(true);
    expect(await node.verify(PASSWORD, out.bunPassword.bcrypt)).toBe(true);
    expect(await node.verify(`${PASSWORD}x`, out.bunPassword.argon2id)).toBe(false);
  });
});
