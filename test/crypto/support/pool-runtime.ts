// Run under Deno (or another runtime) by test/crypto/password-runtimes.test.ts: the worker pool on
// that runtime verifies a reference vector, hashes in every scheme while a 5 ms timer keeps ticking,
// and prints JSON.
import type { PasswordHashPolicy } from "../../../src/crypto/password.ts";
import { createPooledPasswordHasher } from "../../../src/runtime/password-pool.ts";

const REFERENCE = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
const base: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 10,
  scrypt: { ln: 15, r: 8, p: 1 },
  argon2id: { m: 19_456, t: 2, p: 1 },
};

const out: Record<string, unknown> = {};
const hasher = createPooledPasswordHasher(base, { size: 2 });
let t0 = performance.now();
await hasher.warmUp();
out.warmUpMs = performance.now() - t0;
out.reference = await hasher.verify("password", REFERENCE);
out.referenceWrong = await hasher.verify("passwore", REFERENCE);

let maxGap = 0;
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  maxGap = Math.max(maxGap, now - last);
  last = now;
}, 5);
t0 = performance.now();
const stored = await Promise.all([1, 2, 3, 4].map((i) => hasher.hash(`password-${i}`)));
out.fourHashesMs = performance.now() - t0;
clearInterval(timer);
out.maxGapMs = maxGap;
out.roundTrip = await hasher.verify("password-3", stored[2]!);
await hasher.close();

const times: Record<string, number> = {};
for (const scheme of ["argon2id", "bcrypt", "scrypt"] as const) {
  const h = createPooledPasswordHasher({ ...base, scheme }, { size: 1 });
  await h.warmUp();
  const t = performance.now();
  const s = await h.hash("password");
  times[scheme] = performance.now() - t;
  out[`${scheme}Ok`] = (await h.verify("password", s)) && !(await h.verify("passwore", s));
  await h.close();
}
out.hashMs = times;
console.log(JSON.stringify(out));
