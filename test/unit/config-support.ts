// Shared helpers for the configuration tests: an in-memory ConfigIO and test keys.
import { generateKeyPairSync } from "node:crypto";
import { stringify } from "yaml";
import { type ConfigIO, type LoadConfigOptions, loadConfig } from "../../src/config/load.ts";

export interface MemoryIO extends ConfigIO {
  files: Map<string, { data: string; mode: number }>;
  dirs: Set<string>;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

/** A POSIX-like in-memory file system; `files` values are text or `{data, mode}` (default mode 0600). */
export function memoryIO(
  options: {
    env?: Record<string, string | undefined>;
    files?: Record<string, string | { data: string; mode: number }>;
    dirs?: string[];
    cwd?: string;
  } = {},
): MemoryIO {
  const cwd = options.cwd ?? "/srv";
  const resolvePath = (p: string) => normalize(p.startsWith("/") ? p : `${cwd}/${p}`);
  const files = new Map<string, { data: string; mode: number }>();
  for (const [p, v] of Object.entries(options.files ?? {})) {
    files.set(resolvePath(p), typeof v === "string" ? { data: v, mode: 0o600 } : v);
  }
  const dirs = new Set<string>((options.dirs ?? []).map(resolvePath));
  const stat: ConfigIO["stat"] = async (p) => {
    const abs = resolvePath(p);
    const f = files.get(abs);
    if (f) return { isFile: true, size: new TextEncoder().encode(f.data).length, mode: f.mode };
    if (dirs.has(abs)) return { isFile: false, size: 0, mode: 0o700 };
    return null;
  };
  return {
    env: options.env ?? {},
    cwd,
    files,
    dirs,
    stat,
    exists: async (p) => (await stat(p)) !== null,
    readFile: async (p) => {
      const f = files.get(resolvePath(p));
      if (!f) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return f.data;
    },
    writeFile: async (p, data, mode) => {
      files.set(resolvePath(p), { data, mode });
    },
    mkdir: async (p) => {
      dirs.add(resolvePath(p));
    },
    chmod: async (p, mode) => {
      const f = files.get(resolvePath(p));
      if (f) f.mode = mode;
    },
    resolvePath,
    joinPath: (...segments) => normalize(segments.join("/")),
  };
}

function pair(type: "rsa" | "ec" | "ed25519", options: Record<string, unknown>, privateType: string) {
  const { privateKey, publicKey } = generateKeyPairSync(
    type as "rsa",
    {
      ...options,
      privateKeyEncoding: { type: privateType, format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    } as never,
  ) as unknown as { privateKey: string; publicKey: string };
  return { privateKey, publicKey };
}

/** Test keys, generated once per test file. */
export function makeKeys() {
  const rsa = pair("rsa", { modulusLength: 2048 }, "pkcs8");
  const rsaPkcs1 = pair("rsa", { modulusLength: 2048 }, "pkcs1");
  const rsa1024 = pair("rsa", { modulusLength: 1024 }, "pkcs8");
  const rsa1024Pkcs1 = pair("rsa", { modulusLength: 1024 }, "pkcs1");
  const ec = pair("ec", { namedCurve: "P-256" }, "pkcs8");
  const ecSec1 = pair("ec", { namedCurve: "P-256" }, "sec1");
  const ecP384 = pair("ec", { namedCurve: "P-384" }, "pkcs8");
  const ed25519 = pair("ed25519", {}, "pkcs8");
  return { rsa, rsaPkcs1, rsa1024, rsa1024Pkcs1, ec, ecSec1, ecP384, ed25519 };
}

export type TestKeys = ReturnType<typeof makeKeys>;

// Random (`openssl rand -hex`): outside dev mode a low-entropy secret is refused (docs/adr/0015).
export const JWT_SECRET = "8231455ed3baed5279099ac2cc3020efddf97c43960f1c329e2fdd1097681362";
export const API_KEY = "bcbd4f0bd3abe2f956af0844ffeba2f7b3fbc6b5065c59fa";

/** A minimal valid production configuration document. */
export function baseDoc(keys: TestKeys): Record<string, unknown> {
  return {
    issuerBaseUrl: "https://id.example.com",
    jwtSecret: JWT_SECRET,
    apiKey: API_KEY,
    jwksPrivateKey: keys.rsa.privateKey,
  };
}

/** Writes `doc` (YAML text or an object) to /etc/tikti.yaml and loads it with `-f`. */
export async function loadDoc(
  doc: Record<string, unknown> | string,
  options: {
    env?: Record<string, string | undefined>;
    files?: Record<string, string | { data: string; mode: number }>;
    load?: LoadConfigOptions;
  } = {},
) {
  const io = memoryIO({
    env: options.env ?? {},
    files: { "/etc/tikti.yaml": typeof doc === "string" ? doc : stringify(doc), ...options.files },
  });
  return loadConfig(io, { configPath: "/etc/tikti.yaml" }, options.load);
}

/** Runs `fn` and returns the thrown error's message (fails when nothing is thrown). */
export async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a refusal, but loading succeeded");
}

/** Deep merge of plain objects (`b` wins). */
export function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" && !Array.isArray(cur)
        ? merge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
