/**
 * Reading a CPU profile in the Chrome `.cpuprofile` format (what V8's inspector `Profiler.stop`
 * returns on Node and Deno, and what `bun --cpu-prof` writes) into the text checked in under
 * test/bench/profiles/: where one route's CPU time goes, bottom-up (self time per function and per
 * module) and top-down (the call tree down to 1 % of the samples). Pure: no I/O.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
  hitCount?: number;
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Microseconds covered by the kept samples. */
  totalUs: number;
  samples: number;
  /** Self time per function (`name file:line`), largest first. */
  functions: { name: string; selfUs: number }[];
  /** Self time per module (src file, npm package, runtime internals, GC, idle), largest first. */
  modules: { name: string; selfUs: number }[];
  /** The call tree as indented lines: total %, self %, frame. */
  tree: string[];
}

/** The repository-relative path or package of a script URL (`node_modules/<pkg>` → `<pkg>`). */
export function moduleOf(url: string, functionName: string): string {
  if (!url) {
    // V8's synthetic frames: (program), (idle), (garbage collector), (root); natives have no URL.
    return functionName.startsWith("(") ? functionName : "(native)";
  }
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  for (const top of ["/src/", "/test/", "/scripts/"]) {
    const at = path.lastIndexOf(top);
    if (at >= 0) return path.slice(at + 1);
  }
  // Runtime internals: node:internal/..., ext:deno_..., bun's builtins.
  return path.split("/").slice(0, 2).join("/");
}

function frameName(n: CpuProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || "(anonymous)";
  if (!f.url) return name;
  return `${name} ${moduleOf(f.url, name)}:${f.lineNumber + 1}`;
}

/**
 * Summarises `profile`, keeping only the samples taken at or after `skipUs` microseconds from the
 * profile's start (start-up and warm-up of a profile recorded for the whole process lifetime).
 */
export function summarise(
  profile: CpuProfile,
  options: { skipUs?: number; treeMinShare?: number } = {},
): ProfileSummary {
  const skipUs = options.skipUs ?? 0;
  const minShare = options.treeMinShare ?? 0.01;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  let kept = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // A sample's weight is the time until the next one (the last gets the mean interval).
    let t = 0;
    const times = samples.map((_, i) => {
      t += deltas[i] ?? 0;
      return t;
    });
    const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
    const mean = samples.length > 1 ? span / (samples.length - 1) : 0;
    for (let i = 0; i < samples.length; i++) {
      const at = times[i] ?? 0;
      if (at < skipUs) continue;
      const next = times[i + 1];
      const w = next === undefined ? mean : next - at;
      const id = samples[i] as number;
      selfUs.set(id, (selfUs.get(id) ?? 0) + w);
      totalUs += w;
      kept++;
    }
  } else {
    // Older format: hit counts, equal weights over the profile's duration.
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    const per = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const n of profile.nodes) {
      if (!n.hitCount) continue;
      selfUs.set(n.id, n.hitCount * per);
      totalUs += n.hitCount * per;
      kept += n.hitCount;
    }
  }

  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<number, number>();
  for (const [id, us] of selfUs) {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      totals.set(at, (totals.get(at) ?? 0) + us);
    }
  }

  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    add(fns, frameName(n), us);
    add(mods, moduleOf(n.callFrame.url, n.callFrame.functionName), us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, selfUs: us })).sort((a, b) => b.selfUs - a.selfUs);

  const tree: string[] = [];
  const share = (us: number) => (totalUs > 0 ? (100 * us) / totalUs : 0);
  const root = profile.nodes.find((n) => !parent.has(n.id));
  const walk = (n: CpuProfileNode, depth: number) => {
    const total = totals.get(n.id) ?? 0;
    if (share(total) < minShare * 100) return;
    tree.push(
      `${share(total).toFixed(1).padStart(5)}% ${share(selfUs.get(n.id) ?? 0)
        .toFixed(1)
        .padStart(5)}%  ${"  ".repeat(depth)}${frameName(n)}`,
    );
    const kids = (n.children ?? [])
      .map((c) => byId.get(c))
      .filter((c): c is CpuProfileNode => c !== undefined)
      .sort((a, b) => (totals.get(b.id) ?? 0) - (totals.get(a.id) ?? 0));
    for (const c of kids) walk(c, depth + 1);
  };
  if (root)
    for (const c of root.children ?? []) {
      const n = byId.get(c);
      if (n) walk(n, 0);
    }
  return { totalUs, samples: kept, functions: sorted(fns), modules: sorted(mods), tree };
}

/** The text file of one profile. */
export function renderSummary(title: string, s: ProfileSummary, topN = 30): string {
  const pct = (us: number) => `${((100 * us) / (s.totalUs || 1)).toFixed(1).padStart(5)}%`;
  const lines = [
    `# ${title}`,
    `# ${s.samples} samples over ${(s.totalUs / 1e6).toFixed(2)} s of CPU profile (idle included as "(idle)")`,
    "",
    "## Self time by module",
    ...s.modules.slice(0, topN).map((m) => `${pct(m.selfUs)}  ${m.name}`),
    "",
    "## Self time by function",
    ...s.functions.slice(0, topN).map((f) => `${pct(f.selfUs)}  ${f.name}`),
    "",
    "## Top-down (total %, self %, frame; frames under 1 % left out)",
    ...s.tree,
    "",
  ];
  return lines.join("\n");
}
