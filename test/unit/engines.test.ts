/**
 * The split of engine blocks between the vitest projects (docs/adr/0065-fast-and-slow-test-projects.md):
 * `fast` registers the embedded half, `slow` the Redis half of the files it lists, and every file
 * with an engine block is in one of the two lists, so `npm test` runs each block on both engines.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REDIS_HALF, SLOW } from "../../vitest.config.ts";
import { ENGINES_ENV, REDIS_HALF_ENV, selectedEngines } from "../support/engines.ts";

const root = join(import.meta.dirname, "../..");
const saved = { engines: process.env[ENGINES_ENV], half: process.env[REDIS_HALF_ENV] };

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

describe("engine selection per project", () => {
  afterEach(() => {
    setEnv(ENGINES_ENV, saved.engines);
    setEnv(REDIS_HALF_ENV, saved.half);
  });

  it("fast: the embedded half; no variable: both engines; a typo is refused", () => {
    setEnv(REDIS_HALF_ENV, undefined);
    setEnv(ENGINES_ENV, "embedded");
    expect(selectedEngines()).toEqual(["embedded"]);
    setEnv(ENGINES_ENV, undefined);
    expect(selectedEngines()).toEqual(["embedded", "redis"]);
    setEnv(ENGINES_ENV, "redis-cluster");
    expect(() => selectedEngines()).toThrow(/must be "embedded" or "redis"/);
  });

  it("slow: the Redis half of a listed file only, both engines for any other file", () => {
    const self = expect.getState().testPath ?? "";
    setEnv(ENGINES_ENV, undefined);
    setEnv(REDIS_HALF_ENV, JSON.stringify([self]));
    expect(selectedEngines()).toEqual(["redis"]);
    setEnv(REDIS_HALF_ENV, JSON.stringify([join(root, "test/http/core.test.ts")]));
    expect(selectedEngines()).toEqual(["embedded", "redis"]);
  });

  it("every file with an engine block outside SLOW runs its Redis half in slow", () => {
    const engineFiles = [
      "test/http/exchange.test.ts",
      "test/services/validate.test.ts",
      "test/migrate/migrate.test.ts",
    ];
    for (const f of engineFiles) {
      expect(readFileSync(join(root, f), "utf8")).toMatch(/\b(forEachEngine|migrateEngines)\(/);
      expect(REDIS_HALF).toContain(f);
    }
    // A SLOW file runs both engines there, so it is not a Redis-half file.
    expect(SLOW).toContain("test/saml/e2e/**");
    expect(REDIS_HALF.some((f) => f.startsWith("test/saml/e2e/"))).toBe(false);
    expect(REDIS_HALF).not.toContain("test/unit/engines.test.ts");
  });
});
