// Worker thread of the password pool (password-pool.ts): runs the portable WASM engine so a hash
// (tens of milliseconds of CPU) never blocks the server's event loop. Passwords arrive as bytes,
// are zeroed after use, and never appear in a reply or an error message.
import { parentPort } from "node:worker_threads";
import { type PasswordHashPolicy, parsePasswordHash } from "../crypto/password.ts";
import { portablePasswordEngine } from "../crypto/password-portable.ts";
import type { PasswordWorkerReply, PasswordWorkerRequest } from "./password-pool.ts";

const port = parentPort;
if (!port) throw new Error("password-worker.ts must run as a worker thread");

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
