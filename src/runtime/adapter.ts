/**
 * What each runtime entry (bun.ts, deno.ts, node.ts) provides to the shared bootstrap (main.ts):
 * how to open SQLite and how to serve a fetch handler. Everything else is the same on all three.
 */
import type { ClosablePasswordHasher, PasswordHashPolicy } from "../crypto/password.ts";
import type { HonoEnv } from "../deps.ts";
import type { SqliteDb } from "../store/sqlite.ts";

export type FetchHandler = (request: Request, env: HonoEnv["Bindings"]) => Response | Promise<Response>;
export type { ConnectionState } from "../deps.ts";

export interface ServeOptions {
  fetch: FetchHandler;
  hostname: string;
  port: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxHeaderBytes: number;
  /**
   * Bind with SO_REUSEPORT so several processes share the port and the kernel spreads connections
   * (multi-core serving, src/runtime/workers.ts). Linux only; on Bun only in a process started as
   * a cluster worker (docs/adr/0025-one-http-server-on-every-runtime.md); not offered on Deno.
   */
  reusePort?: boolean;
  /** A connection closed by the limits above before any request reached `fetch` (not logged otherwise). */
  onConnectionRefused?: (event: { reason: string; remoteAddr: string; remotePort: number }) => void;
}

export interface RunningServer {
  /** The bound port (useful when 0 was asked). */
  port: number;
  /**
   * Stops accepting connections and resolves when in-flight requests have finished, or after
   * `graceMs`, when remaining connections are closed.
   */
  stop(graceMs: number): Promise<void>;
}

export interface RuntimeAdapter {
  name: "bun" | "deno" | "node";
  openSqlite(path: string): SqliteDb;
  /** Native hashing on Bun, the portable engine in a worker pool on Node and Deno. */
  createPasswordHasher(policy: PasswordHashPolicy): ClosablePasswordHasher;
  serve(options: ServeOptions): Promise<RunningServer>;
}
