/**
 * `bun test/bench/bun-cluster-worker.ts <index> <script> [args...]` runs `bun <script> args` as a
 * cluster worker of this process, so that Bun's node:http binds SO_REUSEPORT and several baseline
 * processes share one port (src/runtime/workers.ts, bunClusterWorkerEnv). The bench orchestrator
 * runs on Node, whose IPC cannot read Bun's cluster notices; this small Bun parent can.
 */
import { spawn } from "node:child_process";
import { bunClusterWorkerEnv } from "../../src/runtime/workers.ts";

const [index = "0", ...command] = process.argv.slice(2);
const child = spawn(process.execPath, command, {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
  env: { ...process.env, ...bunClusterWorkerEnv(Number(index)) },
});
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGKILL" ? 137 : 143)));
