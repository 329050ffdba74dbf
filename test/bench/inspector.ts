/**
 * A V8 CPU profile taken through the inspector protocol (Node and Deno started with
 * `--inspect=127.0.0.1:PORT`): `Profiler.start` after the warm-up, `Profiler.stop` after the
 * measured load, so the profile holds exactly the measured window. Bun speaks WebKit's protocol
 * instead; it is profiled with `bun --cpu-prof` (test/bench/run.ts `--profile`).
 */
import type { CpuProfile } from "./cpuprofile.ts";

export interface RunningProfile {
  stop(): Promise<CpuProfile>;
}

export async function startInspectorProfile(inspectPort: number, intervalUs = 250): Promise<RunningProfile> {
  let targets: { webSocketDebuggerUrl?: string }[] = [];
  for (let i = 0; i < 100 && targets.length === 0; i++) {
    try {
      targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as typeof targets;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`bench: no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("bench: inspector connection failed")), {
      once: true,
    });
  });
  const pending = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg);
  });
  let next = 1;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, (r) => {
        pending.delete(id);
        if (r.error) reject(new Error(`bench: ${method}: ${JSON.stringify(r.error)}`));
        else resolve(r.result);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = (await call("Profiler.stop")) as { profile: CpuProfile };
      ws.close();
      return profile;
    },
  };
}
