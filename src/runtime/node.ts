#!/usr/bin/env node
// Node >= 22 entry: node:http + @hono/node-server's request listener. I/O wiring only.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { RuntimeAdapter } from "./adapter.ts";
import { main } from "./main.ts";
import { createPooledPasswordHasher } from "./password-pool.ts";
import { openSqlite } from "./sqlite-node.ts";

export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  openSqlite,
  createPasswordHasher: (policy) => createPooledPasswordHasher(policy),
  serve(options) {
    const listener = getRequestListener((req, env) =>
      options.fetch(req, { remoteAddr: env.incoming.socket.remoteAddress ?? "" }),
    );
    const server = createServer(
      {
        headersTimeout: options.headersTimeoutSeconds * 1000,
        requestTimeout: options.requestTimeoutSeconds * 1000,
        keepAliveTimeout: options.keepAliveTimeoutSeconds * 1000,
        maxHeaderSize: options.maxHeaderBytes,
      },
      listener,
    );
    const listen = { port: options.port, host: options.hostname, reusePort: options.reusePort ?? false };
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen, () => {
        server.off("error", reject);
        resolve({
          port: (server.address() as AddressInfo).port,
          stop: (graceMs) =>
            new Promise<void>((done) => {
              const force = setTimeout(() => server.closeAllConnections(), graceMs);
              server.close(() => {
                clearTimeout(force);
                done();
              });
              server.closeIdleConnections();
            }),
        });
      });
    });
  },
};

if (import.meta.main) {
  main(nodeAdapter, process.argv.slice(2));
}
