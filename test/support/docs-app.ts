// An app built only to read its route specs (documentation): the store is never called.
import { type App, createApp } from "../../src/app.ts";
import { createCoreDeps } from "../../src/bootstrap.ts";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { testConfig } from "./app.ts";

export async function docsApp(): Promise<App> {
  const config = await testConfig();
  const store = new Proxy({} as KV, {
    get: (_t, prop) =>
      prop === "engine" ? "embedded" : () => Promise.reject(new Error("docs app has no store")),
  });
  const deps = await createCoreDeps({
    config,
    store,
    logger: silentLogger,
    passwords: createInProcessPasswordHasher(config.accounts.passwordHash),
    auditSink: () => {},
  });
  return createApp(deps);
}
