#!/usr/bin/env bun
// Bun entry: node:http through Bun's Node compatibility (src/runtime/http-server.ts, ADR 0025) +
// bun:sqlite. I/O wiring only. Also the entry of the compiled `tikti` binary.
import type { RuntimeAdapter } from "./adapter.ts";
import { serveHttp } from "./http-server.ts";
import { main } from "./main.ts";
import { createBunPasswordHasher } from "./password-bun.ts";
import { openSqlite } from "./sqlite-bun.ts";

export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  openSqlite,
  createPasswordHasher: (policy) => createBunPasswordHasher(policy),
  serve: serveHttp,
};

if (import.meta.main) {
  main(bunAdapter, process.argv.slice(2));
}
