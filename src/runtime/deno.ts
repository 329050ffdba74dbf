// Deno entry: node:http through Deno's Node compatibility (src/runtime/http-server.ts, ADR 0025) +
// node:sqlite. I/O wiring only.
import type { RuntimeAdapter } from "./adapter.ts";
import { serveHttp } from "./http-server.ts";
import { main } from "./main.ts";
import { createPooledPasswordHasher } from "./password-pool.ts";
import { openSqlite } from "./sqlite-node.ts";

// Minimal typing of the Deno API used here (the project type-checks with Node and Bun types).
declare const Deno: { args: string[] };

export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  openSqlite,
  createPasswordHasher: (policy) => createPooledPasswordHasher(policy),
  serve: serveHttp,
};

if (import.meta.main) {
  main(denoAdapter, Deno.args);
}
