// An app built only to read its route specs (documentation): the store is never called.
import { type App, createApp } from "../../src/app.ts";
import { createCoreDeps } from "../../src/bootstrap.ts";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { TEST_ISSUER, testConfig } from "./app.ts";

/**
 * Every optional route group mounted: SAML on (its key files are never read here) and `/metrics`
 * on the main port (testConfig), so the generated reference covers the whole surface.
 */
export async function docsApp(): Promise<App> {
  const sp = (path: string) => `${TEST_ISSUER}/saml${path}`;
  const config = await testConfig({
    saml: {
      enabled: true,
      sp: {
        entityID: sp(""),
        acsURL: sp("/acs"),
        sloURL: sp("/slo"),
        signingKeyPath: "/docs-app/sp.key",
        signingCertPath: "/docs-app/sp.crt",
      },
    },
  });
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
