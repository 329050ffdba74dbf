import { describe, expect, it } from "vitest";
import { type CpuProfile, moduleOf, renderSummary, summarise } from "../bench/cpuprofile.ts";

// The profiles checked in under test/bench/profiles/ are read by people deciding what to optimise:
// a wrong attribution (self vs total, the skipped start-up, the module of a frame) would send them
// after the wrong code.
const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber });

/** root → handler (src) → { sign (jose), parse (src) }; root → (idle). */
function profile(): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 5] },
      { id: 2, callFrame: frame("handler", "file:///repo/src/http/route.ts", 9), children: [3, 4] },
      { id: 3, callFrame: frame("sign", "file:///repo/node_modules/jose/dist/sign.js", 0) },
      { id: 4, callFrame: frame("parse", "file:///repo/src/crypto/jws.ts", 36) },
      { id: 5, callFrame: frame("(idle)") },
    ],
    startTime: 0,
    endTime: 1000,
    // Samples every 100 µs: idle, idle | handler, sign ×4, parse ×2, handler.
    samples: [5, 5, 2, 3, 3, 3, 3, 4, 4, 2],
    timeDeltas: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100],
  };
}

describe("bench CPU profile summary", () => {
  it("names modules by repository path, npm package or runtime internals", () => {
    expect(moduleOf("file:///x/repo/src/store/redis.ts", "hget")).toBe("src/store/redis.ts");
    expect(moduleOf("file:///x/node_modules/@redis/client/dist/a.js", "f")).toBe("@redis/client");
    expect(moduleOf("file:///x/node_modules/hono/dist/hono.js", "f")).toBe("hono");
    expect(moduleOf("node:internal/streams/writable", "f")).toBe("node:internal/streams");
    expect(moduleOf("", "(garbage collector)")).toBe("(garbage collector)");
    expect(moduleOf("", "writev")).toBe("(native)");
  });

  it("weighs each sample by the time to the next one and rolls self time up into totals", () => {
    const s = summarise(profile());
    expect(s.samples).toBe(10);
    expect(s.totalUs).toBe(1000); // 9 intervals of 100 µs + the mean for the last sample
    const fn = (name: string) => s.functions.find((f) => f.name.startsWith(name))?.selfUs;
    expect(fn("sign")).toBe(400);
    expect(fn("parse")).toBe(200);
    expect(fn("handler")).toBe(200);
    expect(fn("(idle)")).toBe(200);
    expect(s.modules[0]).toEqual({ name: "jose", selfUs: 400 });
    // Top-down: handler's total holds its children (80 %), its self time 20 %.
    const handler = s.tree.find((l) => l.includes("handler src/http/route.ts:10"));
    expect(handler).toMatch(/^\s*80\.0%\s+20\.0%/);
    expect(s.tree.findIndex((l) => l.includes("sign jose:1"))).toBeGreaterThan(s.tree.indexOf(handler ?? ""));
  });

  it("drops the samples taken before the measured window", () => {
    const s = summarise(profile(), { skipUs: 200 });
    expect(s.samples).toBe(8);
    expect(s.functions.some((f) => f.name === "(idle)")).toBe(false);
    expect(renderSummary("t", s)).toContain("50.0%  jose");
  });
});
