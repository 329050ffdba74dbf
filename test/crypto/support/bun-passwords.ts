// Run under Bun by test/crypto/password-runtimes.test.ts: verifies the hashes it is given with the
// Bun hasher (and with Bun.password directly), writes hashes of its own, and prints JSON.
//   bun test/crypto/support/bun-passwords.ts '<json input>'
import type { PasswordHashPolicy } from "../../../src/crypto/password.ts";
import { createBunPasswordHasher } from "../../../src/runtime/password-bun.ts";

interface Input {
  policy: PasswordHashPolicy;
  password: string;
  /** Hashes written elsewhere, to verify here. */
  verify: string[];
  /** Policies to hash `password` with. */
  hash: PasswordHashPolicy[];
  /** Other (password, stored) pairs to verify with the Bun hasher. */
  checks: Array<{ password: string; stored: string }>;
}

const input = JSON.parse(process.argv[2] ?? "{}") as Input;
const hasher = createBunPasswordHasher(input.policy, { size: 1 });
const native = (stored: string) =>
  stored.startsWith("$scrypt$") ? Promise.resolve(null) : Bun.password.verify(input.password, stored);

const verified = [];
for (const stored of input.verify) {
  verified.push({
    stored,
    right: await hasher.verify(input.password, stored),
    wrong: await hasher.verify(`${input.password}x`, stored),
    bunPasswordVerify: await native(stored),
  });
}

const checks = [];
for (const c of input.checks) checks.push(await hasher.verify(c.password, c.stored));

const hashed = [];
for (const policy of input.hash) {
  const h = createBunPasswordHasher(policy, { size: 1 });
  await h.hash(input.password); // warm-up (the pool's worker starts on first use)
  const t0 = performance.now();
  const stored = await h.hash(input.password);
  hashed.push({ policy, stored, ms: performance.now() - t0 });
  await h.close();
}
// Without node:crypto's argon2/scrypt, Bun falls back to the worker pool.
const fallbackStored = [];
for (const policy of input.hash) {
  const fallback = createBunPasswordHasher(policy, { size: 1, withoutNodeCrypto: true });
  const stored = await fallback.hash(input.password);
  fallbackStored.push({
    stored,
    right: await fallback.verify(input.password, stored),
    wrong: await fallback.verify(`${input.password}x`, stored),
  });
  await fallback.close();
}

const bunPassword = {
  argon2id: await Bun.password.hash(input.password, {
    algorithm: "argon2id",
    memoryCost: 19_456,
    timeCost: 2,
  }),
  bcrypt: await Bun.password.hash(input.password, { algorithm: "bcrypt", cost: 10 }),
};
await hasher.close();
console.log(JSON.stringify({ verified, checks, hashed, fallbackStored, bunPassword }));
