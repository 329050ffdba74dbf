import { globSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Two projects (docs/adr/0065-fast-and-slow-test-projects.md):
 * - `slow`: files that compile binaries, start redis-server, a Redis Cluster, a pysaml2 IdP,
 *   Chromium, or the server itself on Bun/Node/Deno as a process (or spawn the runtimes/OAuth
 *   clients directly), plus the Redis half of every other file with engine blocks;
 * - `fast`: everything else, engine blocks on the embedded store only (test/support/engines.ts):
 *   `npm run vitest -- run --project fast` is the edit-test loop.
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
  "test/store/conformance/redis-cluster.test.ts",
  "test/store/conformance/redis.test.ts",
  "test/store/seed-bulk.test.ts",
  "test/crypto/access-token-node.test.ts",
  "test/crypto/id-token-node.test.ts",
  "test/crypto/password-runtimes.test.ts",
  "test/crypto/password-timing.test.ts",
  // Hashing at full cost is their point and most of their time: reference vectors and the
  // production parameters, a Go-era bcrypt hash verified for every fixture user.
  "test/crypto/password.test.ts",
  "test/migrate/compat.test.ts",
  "test/store/embedded-store.test.ts",
  "test/deploy/**",
];

const always = ["test/bench/**", "node_modules/**"];

const root = fileURLToPath(new URL(".", import.meta.url));
const slowGlobs = SLOW.map((p) => (p.endsWith("/**") ? `${p}/*.test.ts` : p));
const slowFiles = new Set(globSync(slowGlobs, { cwd: root }));

/**
 * Files outside SLOW with engine blocks (`forEachEngine`, `migrateEngines`): `fast` runs their
 * embedded half, `slow` their Redis half (test/support/engines.ts). Found by reading the files, so
 * a new one cannot be forgotten: its Redis half always runs in `npm test`.
 */
export const REDIS_HALF = globSync("test/**/*.test.ts", { cwd: root })
  .filter((f) => !slowFiles.has(f) && !f.startsWith("test/bench/"))
  .filter((f) => /\b(forEachEngine|migrateEngines)\(/.test(readFileSync(join(root, f), "utf8")))
  .sort();

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
        test: {
          name: "fast",
          include: ["test/**/*.test.ts"],
          exclude: [...always, ...SLOW],
          // In-process and CPU-bound, no wall-clock assertions: one fork per core, and the forks
          // keep their module cache from file to file (importing the app is a third of the time).
          // Per-file state is reset by test/support/setup-children.ts (ADR 0065).
          maxWorkers: availableParallelism(),
          isolate: false,
          env: { TIKTI_TEST_ENGINES: "embedded" },
        },
      },
      {
        extends: true,
        test: {
          name: "slow",
          include: [...slowGlobs, ...REDIS_HALF],
          exclude: always,
          env: { TIKTI_TEST_REDIS_HALF: JSON.stringify(REDIS_HALF.map((f) => join(root, f))) },
        },
      },
    ],
  },
});
