/**
 * Child servers never outlive a killed test fork (test/support/children.ts, ADR 0066): a stand-in
 * fork starts a child that forks again (as a Tikti supervisor forks workers), then dies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import {
  groupMembers,
  killGroup,
  processStartTime,
  REGISTRY_ENV,
  sweepRegistry,
} from "../support/children.ts";
import { waitFor } from "../support/redis-server.ts";

const FIXTURE = join(import.meta.dirname, "../support/children-fixture.ts");

describe.runIf(process.platform === "linux")("child server process groups", () => {
  let registry: string;
  let fork: ChildProcess | undefined;
  let pgid = 0;

  /** Starts the stand-in fork and waits until its child and grandchildren run. */
  async function startFork(): Promise<void> {
    fork = spawn(runtimeBinary("node") as string, [FIXTURE], {
      env: { PATH: process.env.PATH ?? "", [REGISTRY_ENV]: registry },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(createInterface({ input: fork.stdout! }), "line")) as [string];
    pgid = (JSON.parse(line) as { pgid: number }).pgid;
    // sh plus its two sleeps.
    expect(await waitFor(async () => groupMembers(pgid).length === 3, 10_000)).toBe(true);
  }

  async function killFork(signal: NodeJS.Signals): Promise<void> {
    const exited = once(fork!, "exit");
    fork!.kill(signal);
    await exited;
  }

  beforeEach(() => {
    registry = mkdtempSync(join(tmpdir(), "tikti-children-test-"));
  });
  afterEach(async () => {
    if (fork && fork.exitCode === null && fork.signalCode === null) await killFork("SIGKILL");
    if (pgid) killGroup({ pgid, start: processStartTime(pgid) ?? "" });
    rmSync(registry, { recursive: true, force: true });
  });

  it("a SIGKILLed fork leaves its group running; the global teardown's sweep kills all of it", async () => {
    await startFork();
    expect(readdirSync(registry)).toEqual([`${fork!.pid}.pgids`]);
    await killFork("SIGKILL");
    // Nothing ran in the fork: the server and its own children are orphans now.
    expect(groupMembers(pgid)).toHaveLength(3);
    expect(sweepRegistry(registry)).toEqual([pgid]);
    expect(await waitFor(async () => groupMembers(pgid).length === 0, 10_000)).toBe(true);
    expect(readdirSync(registry)).toEqual([]);
  });

  it("a fork stopped with SIGTERM (vitest's first try) kills the group itself and still dies of the signal", async () => {
    await startFork();
    const exited = once(fork!, "exit");
    fork!.kill("SIGTERM");
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
    expect(await waitFor(async () => groupMembers(pgid).length === 0, 10_000)).toBe(true);
    expect(readdirSync(registry)).toEqual([]);
  });

  it("never signals a PID that was reused by another process (start time differs)", async () => {
    await startFork();
    expect(killGroup({ pgid, start: "1" })).toBe(false);
    expect(groupMembers(pgid)).toHaveLength(3);
    expect(killGroup({ pgid, start: processStartTime(pgid)! })).toBe(true);
    expect(await waitFor(async () => groupMembers(pgid).length === 0, 10_000)).toBe(true);
  });
});
