#!/usr/bin/env node
// Node >= 22 entry: node:http (src/runtime/http-server.ts) + node:sqlite. I/O wiring only.
import type { RuntimeAdapter } from "./adapter.ts";
import { serveHttp } from "./http-server.ts";
import { main } from "./main.ts";
import { createPooledPasswordHasher } from "./password-pool.ts";
import { openSqlite } from "./sqlite-node.ts";

export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  openSqlite,
  createPasswordHasher: (policy) => createPooledPasswordHasher(policy),
  serve: serveHttp,
};

if (import.meta.main) {
  main(nodeAdapter, process.argv.slice(2));
}
