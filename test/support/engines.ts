/**
 * Which store engines a test file runs its engine blocks (`forEachEngine`, `migrateEngines`) on,
 * as chosen per vitest project by vitest.config.ts (docs/adr/0065-fast-and-slow-test-projects.md):
 * - project `fast` (TIKTI_TEST_ENGINES=embedded): the embedded half of every file it runs;
 * - project `slow`: both engines for the files of `SLOW`, and only the Redis half for the files it
 *   lists in TIKTI_TEST_REDIS_HALF (the files that `fast` runs on the embedded engine).
 * So `npm test` runs every engine block once per engine, and the edit-test loop never waits for
 * redis-server. Without either variable (another config, a direct import) both engines run.
 */
import { describe, expect } from "vitest";

export type EngineName = "embedded" | "redis";

export const ENGINES_ENV = "TIKTI_TEST_ENGINES";
export const REDIS_HALF_ENV = "TIKTI_TEST_REDIS_HALF";

/** Absolute path of the test file being collected (vitest sets it before collection). */
function currentTestFile(): string | undefined {
  return expect.getState().testPath;
}

/** True when this file runs only its Redis half here (project `slow`, file listed by the config). */
export function isRedisHalf(): boolean {
  const listed = process.env[REDIS_HALF_ENV];
  if (!listed) return false;
  const file = currentTestFile();
  return file !== undefined && (JSON.parse(listed) as string[]).includes(file);
}

/** The engines of this file in this project, in the order embedded, redis. */
export function selectedEngines(): EngineName[] {
  if (isRedisHalf()) return ["redis"];
  const only = process.env[ENGINES_ENV];
  if (only === "embedded" || only === "redis") return [only];
  if (only !== undefined && only !== "")
    throw new Error(`${ENGINES_ENV} must be "embedded" or "redis", got ${JSON.stringify(only)}`);
  return ["embedded", "redis"];
}

/**
 * A describe block that uses no store engine, in a file that also has engine blocks: registered
 * wherever the file runs except in its Redis half, so it runs once per `npm test`, not twice.
 */
export function describeWithoutEngine(title: string, body: () => void): void {
  if (isRedisHalf()) return;
  describe(title, body);
}
