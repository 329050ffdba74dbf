import { defineConfig } from "vitest/config";

/**
 * Two projects (docs/adr/0065-fast-and-slow-test-projects.md):
 * - `slow`: files that compile binaries, start a Redis Cluster, a pysaml2 IdP, Chromium, or the
 *   server itself on Bun/Node/Deno as a process (or spawn the runtimes/OAuth clients directly);
 * - `fast`: everything else (in-process app on the embedded store and one real redis-server),
 *   `npm run vitest -- run --project fast` gives feedback in about a minute.
 * `npm test` (no --project) runs both. A new test file that starts processes belongs in SLOW.
 */
export const SLOW = [
  "test/browser/**",
  "test/runtime/**",
  "test/saml/e2e/**",
  "test/saml/runtime/**",
  "test/saml/runtimes.test.ts",
  "test/saml/bench-idp.test.ts",
  "test/saml/admin/startup-refusals.test.ts",
  "test/oauth/e2e/**",
  "test/oauth/examples.test.ts",
  "test/oauth/refresh-cluster.test.ts",
  "test/cli/e2e.test.ts",
  "test/cli/dist.test.ts",
  "test/migrate/binary.test.ts",
  "test/migrate/cluster.test.ts",
  "test/migrate/terminal.test.ts",
  "test/migrate/new-store.test.ts",
  "test/conformance/redis-cluster.test.ts",
  "test/crypto/access-token-node.test.ts",
  "test/crypto/id-token-node.test.ts",
  "test/crypto/password-runtimes.test.ts",
  "test/unit/embedded-store.test.ts",
  "test/deploy/**",
];

const always = ["test/bench/**", "node_modules/**"];

export default defineConfig({
  test: {
    // Test files start their own servers (redis-server, tikti) on free ports, so they can run in
    // parallel processes; forks keep node:sqlite and child processes isolated per file.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    // Kills the process groups of child servers that a killed test fork could not stop itself
    // (test/support/children.ts).
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/setup-children.ts"],
    projects: [
      {
        extends: true,
        test: { name: "fast", include: ["test/**/*.test.ts"], exclude: [...always, ...SLOW] },
      },
      {
        extends: true,
        test: {
          name: "slow",
          include: SLOW.map((p) => (p.endsWith("/**") ? `${p}/*.test.ts` : p)),
          exclude: always,
        },
      },
    ],
  },
});
