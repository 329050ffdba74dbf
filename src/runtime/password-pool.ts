/**
 * A small pool of worker threads (`node:worker_threads`, available on Node, Deno and Bun) running
 * the portable password engine (docs/spec/operations.md §2.5: hashing runs off the request's hot path).
 *
 * - Workers start on first use, up to `size`; tasks queue FIFO when all are busy.
 * - An idle worker is unref'd, so the pool never keeps a CLI or test process alive.
 * - A worker that dies fails only its own task and is replaced on the next one.
 * Passwords are transferred as bytes (the sender's copy is detached) and are never logged.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import {
  type ClosablePasswordHasher,
  createPasswordHasher,
  type PasswordEngine,
  type PasswordHashPolicy,
} from "../crypto/password.ts";

export type PasswordWorkerRequest =
  | { id: number; op: "hash"; password: Uint8Array; policy: PasswordHashPolicy }
  | { id: number; op: "verify"; password: Uint8Array; stored: string }
  | { id: number; op: "warm"; password: Uint8Array };

export type PasswordWorkerReply =
  | { id: number; ok: true; value: string | boolean }
  | { id: number; ok: false; error: string };

type Job =
  | { op: "hash"; password: Uint8Array; policy: PasswordHashPolicy }
  | { op: "verify"; password: Uint8Array; stored: string }
  | { op: "warm"; password: Uint8Array };

export interface PasswordPoolOptions {
  /**
   * Number of worker threads. Default: one per core less one for the event loop, between 1 and 4
   * (each argon2id worker holds `m` KiB of WebAssembly memory once used).
   */
  size?: number;
  /**
   * Nice value of the hashing threads (Linux; 0 keeps the normal priority). Default
   * `HASH_THREAD_NICENESS`: the event loop wins a shared core (docs/adr/0116-hashing-threads-at-low-priority.md).
   */
  niceness?: number;
}

/**
 * 19, the lowest priority: CFS then weighs a hashing thread 15 against the event loop's 1024, so a
 * busy event loop keeps ~98 % of a core it shares with a hash, and an idle one leaves it all to it.
 */
export const HASH_THREAD_NICENESS = 19;

export interface PasswordWorkerPool {
  readonly size: number;
  /** The portable engine, executed in the pool. */
  readonly engine: PasswordEngine;
  /** Starts every worker and has each compile the WASM engines (see `ClosablePasswordHasher`). */
  warmUp(): Promise<void>;
  /** Terminates the workers; queued and running tasks fail. */
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  busy: { id: number; resolve: (v: string | boolean) => void; reject: (e: Error) => void } | undefined;
}

interface Pending {
  job: Job;
  resolve: (v: string | boolean) => void;
  reject: (e: Error) => void;
}

const WORKER_URL = new URL("./password-worker.ts", import.meta.url);

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export function createPasswordWorkerPool(options: PasswordPoolOptions = {}): PasswordWorkerPool {
  const size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
  const niceness = options.niceness ?? HASH_THREAD_NICENESS;
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(WORKER_URL, { workerData: { niceness } }), busy: undefined };
    slot.worker.unref();
    slot.worker.on("message", (reply: PasswordWorkerReply) => {
      const task = slot.busy;
      if (!task || task.id !== reply.id) return;
      slot.busy = undefined;
      slot.worker.unref();
      if (reply.ok) task.resolve(reply.value);
      else task.reject(new Error(`password worker: ${reply.error}`));
      dispatch();
    });
    const fail = (cause: unknown) => {
      const index = slots.indexOf(slot);
      if (index < 0) return;
      slots.splice(index, 1);
      const task = slot.busy;
      slot.busy = undefined;
      task?.reject(new Error("password worker stopped", { cause }));
      void slot.worker.terminate();
      if (!closed) dispatch();
    };
    slot.worker.on("error", fail);
    slot.worker.on("exit", (code) => fail(new Error(`exit code ${code}`)));
    slots.push(slot);
    return slot;
  };

  const dispatch = () => {
    while (queue.length > 0) {
      const slot = slots.find((s) => !s.busy) ?? (slots.length < size ? spawn() : undefined);
      if (!slot) return;
      const pending = queue.shift();
      if (pending === undefined) return; // the loop condition saw a job
      const id = nextId++;
      slot.busy = { id, resolve: pending.resolve, reject: pending.reject };
      slot.worker.ref();
      // Transfer the password bytes: no copy stays behind in this thread.
      const password = pending.job.password.slice();
      pending.job.password.fill(0);
      slot.worker.postMessage({ ...pending.job, id, password } as PasswordWorkerRequest, [password.buffer]);
    }
  };

  const run = (job: Job): Promise<string | boolean> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new Error("password pool is closed"));
        return;
      }
      queue.push({ job, resolve, reject });
      dispatch();
    });

  return {
    size,
    engine: {
      hash: async (password, policy) => (await run({ op: "hash", password, policy })) as string,
      verify: async (password, stored) =>
        (await run({ op: "verify", password, stored: stored.encoded })) === true,
    },
    async warmUp() {
      // `size` concurrent jobs occupy `size` distinct workers (an idle one or a new one each).
      await Promise.all(Array.from({ length: size }, () => run({ op: "warm", password: new Uint8Array(0) })));
    },
    async close() {
      closed = true;
      for (const pending of queue.splice(0)) pending.reject(new Error("password pool is closed"));
      const all = slots.splice(0);
      for (const slot of all) slot.busy?.reject(new Error("password pool is closed"));
      await Promise.all(all.map((slot) => slot.worker.terminate()));
    },
  };
}

/**
 * The `PasswordHasher` for Node and Deno: the portable engine in a worker pool.
 * Call `close()` on shutdown.
 */
export function createPooledPasswordHasher(
  policy: PasswordHashPolicy,
  options: PasswordPoolOptions = {},
): ClosablePasswordHasher {
  const pool = createPasswordWorkerPool(options);
  return {
    ...createPasswordHasher(policy, pool.engine),
    warmUp: () => pool.warmUp(),
    close: () => pool.close(),
  };
}
