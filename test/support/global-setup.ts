/**
 * vitest globalSetup (main process): gives the test forks a registry directory for the process
 * groups of their child servers, and after the run kills the groups a SIGKILLed fork left behind
 * (test/support/children.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REGISTRY_ENV, sweepRegistry } from "./children.ts";

export default function setup(): () => void {
  // Forks inherit the main process's environment; a caller (scripts/test.mjs) may choose the dir.
  const own = process.env[REGISTRY_ENV] === undefined;
  const dir = process.env[REGISTRY_ENV] ?? mkdtempSync(join(tmpdir(), "tikti-test-children-"));
  process.env[REGISTRY_ENV] = dir;
  return () => {
    const killed = sweepRegistry(dir);
    if (killed.length > 0)
      process.stderr.write(
        `test teardown: killed ${killed.length} leftover child process group(s) of killed test forks: ${killed.join(", ")}\n`,
      );
    if (own) {
      rmSync(dir, { recursive: true, force: true });
      delete process.env[REGISTRY_ENV];
    }
  };
}
