// Worker thread of the password pool (password-pool.ts): runs the portable WASM engine so a hash
// (tens of milliseconds of CPU) never blocks the server's event loop. Passwords arrive as bytes,
// are zeroed after use, and never appear in a reply or an error message.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { type PasswordHashPolicy, parsePasswordHash } from "../crypto/password.ts";
import { portablePasswordEngine } from "../crypto/password-portable.ts";
import type { PasswordWorkerReply, PasswordWorkerRequest } from "./password-pool.ts";

const port = parentPort;
if (!port) throw new Error("password-worker.ts must run as a worker thread");

lowerPriority(Number((workerData as { niceness?: unknown } | null)?.niceness ?? 0));

/**
 * Lowers this thread's CPU priority (docs/adr/0116-hashing-threads-at-low-priority.md): on a core it
 * shares with the event loop, a hash (tens of milliseconds) then yields whenever the event loop has
 * work, so requests queued behind a sign-in burst are served first; with an idle event loop hashing
 * runs at full speed. Linux has a nice value per thread (setpriority on the thread id, found through
 * /proc/thread-self). Fail soft: elsewhere (macOS, Windows, no /proc, a runtime without
 * `os.setPriority`, a sandbox that refuses it) the thread keeps the normal priority and hashing works
 * as before.
 */
function lowerPriority(niceness: number): void {
  if (!(niceness > 0)) return;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1));
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, niceness));
  } catch {
    // Not Linux, or not permitted: normal priority.
  }
}

port.on("message", (request: PasswordWorkerRequest) => {
  run(request).then(
    (value) => port.postMessage({ id: request.id, ok: true, value } satisfies PasswordWorkerReply),
    (e: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        error: e instanceof Error ? e.message : "password engine failed",
      } satisfies PasswordWorkerReply),
  );
});

// Minimal parameters: enough to compile and instantiate each WASM module, a few milliseconds.
const WARM_UP: PasswordHashPolicy = {
  scheme: "argon2id",
  bcryptCost: 4,
  scrypt: { ln: 1, r: 1, p: 1 },
  argon2id: { m: 8, t: 1, p: 1 },
};

async function run(request: PasswordWorkerRequest): Promise<string | boolean> {
  if (request.op === "warm") {
    for (const scheme of ["argon2id", "bcrypt", "scrypt"] as const) {
      await portablePasswordEngine.hash(new Uint8Array([0x77]), { ...WARM_UP, scheme });
    }
    return true;
  }
  if (request.op === "hash") return portablePasswordEngine.hash(request.password, request.policy);
  const parsed = parsePasswordHash(request.stored);
  if (!parsed) {
    request.password.fill(0);
    return false;
  }
  return portablePasswordEngine.verify(request.password, parsed);
}
