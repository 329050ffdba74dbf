#!/usr/bin/env bun
// Bun entry: Bun.serve + bun:sqlite. I/O wiring only. Also the entry of the compiled `tikti` binary.
import type { RuntimeAdapter } from "./adapter.ts";
import { main } from "./main.ts";
import { createBunPasswordHasher } from "./password-bun.ts";
import { openSqlite } from "./sqlite-bun.ts";

export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  openSqlite,
  createPasswordHasher: (policy) => createBunPasswordHasher(policy),
  async serve(options) {
    const server = Bun.serve({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort ?? false,
      // Bun has one idle timeout (seconds, max 255) for both slow headers and idle keep-alive.
      idleTimeout: Math.min(255, Math.max(options.headersTimeoutSeconds, options.keepAliveTimeoutSeconds)),
      fetch(req, srv) {
        return options.fetch(req, { remoteAddr: srv.requestIP(req)?.address ?? "" });
      },
    });
    return {
      port: server.port ?? options.port,
      async stop(graceMs) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            server.stop(true);
            resolve();
          }, graceMs);
        });
        // stop(false): no new connections, in-flight requests finish.
        await Promise.race([server.stop(false), forced]);
        clearTimeout(timer);
      },
    };
  },
};

if (import.meta.main) {
  main(bunAdapter, process.argv.slice(2));
}
