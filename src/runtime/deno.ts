// Deno entry: Deno.serve + node:sqlite. I/O wiring only.
import type { RuntimeAdapter } from "./adapter.ts";
import { main } from "./main.ts";
import { createPooledPasswordHasher } from "./password-pool.ts";
import { openSqlite } from "./sqlite-node.ts";

// Minimal typing of the Deno APIs used here (the project type-checks with Node and Bun types).
interface DenoServer {
  addr: { port: number };
  shutdown(): Promise<void>;
  finished: Promise<void>;
}
declare const Deno: {
  serve(
    options: { hostname: string; port: number; reusePort?: boolean; onListen?: () => void },
    handler: (req: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): DenoServer;
  args: string[];
};

export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  openSqlite,
  createPasswordHasher: (policy) => createPooledPasswordHasher(policy),
  async serve(options) {
    const server = Deno.serve(
      {
        hostname: options.hostname,
        port: options.port,
        // Only when asked: Deno refuses the option without --unstable-net.
        ...(options.reusePort ? { reusePort: true } : {}),
        onListen() {},
      },
      (req, info) => options.fetch(req, { remoteAddr: info.remoteAddr.hostname }),
    );
    return {
      port: server.addr.port,
      async stop(graceMs) {
        // shutdown() stops accepting and waits for in-flight requests; cap it at the grace period.
        await Promise.race([server.shutdown(), new Promise<void>((r) => setTimeout(r, graceMs))]);
      },
    };
  },
};

if (import.meta.main) {
  main(denoAdapter, Deno.args);
}
