/**
 * What `helm template` does with helm/tikti, for machines without `helm`: merge values.yaml with
 * `--set`/`--set-string`/`--set-file` flags, validate the result against values.schema.json, render
 * every template with the Go-template subset of gotemplate.ts, and parse the output as YAML.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { Renderer } from "./gotemplate.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const chartDir = join(repoRoot, "helm/tikti");

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const chartValues = (): Obj => parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Obj;
export const chartMeta = (): Obj => parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as Obj;
export const valuesSchema = (): Obj => JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));

/** Helm's strvals typing for `--set`: booleans, null and integers are typed; everything else is a string. */
function typedSetValue(raw: string): unknown {
  if (raw === "true" || raw === "false") return raw === "true";
  if (raw === "null") return null;
  if (/^[-+]?(0|[1-9]\d*)$/.test(raw)) return Number(raw);
  return raw;
}

/** `a.b[0].c` → ["a", "b", 0, "c"]. */
function parsePath(key: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of key.split(".")) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`unsupported --set key "${key}"`);
    out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function setPath(target: Obj, path: (string | number)[], value: unknown): void {
  let cur: Obj | unknown[] = target;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    const nextIsIndex = typeof path[i + 1] === "number";
    const slot = cur as Record<string | number, unknown>;
    if (last) {
      slot[key] = value;
      return;
    }
    if (!isObj(slot[key]) && !Array.isArray(slot[key])) slot[key] = nextIsIndex ? [] : {};
    cur = slot[key] as Obj | unknown[];
  }
}

/** Splits on commas that are not escaped (`\,`), as Helm does for every --set flag. */
function splitAssignments(arg: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] === "\\" && arg[i + 1] === ",") {
      cur += ",";
      i++;
    } else if (arg[i] === ",") {
      parts.push(cur);
      cur = "";
    } else cur += arg[i];
  }
  parts.push(cur);
  return parts;
}

/**
 * Applies the value flags of a helm command line (`--set k=v`, `--set-string k=v`,
 * `--set-file k=path`) to a user-values object, like Helm's strvals parser for the forms used here.
 */
export function applySetFlags(args: string[], readFile: (path: string) => string): Obj {
  const user: Obj = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag !== "--set" && flag !== "--set-string" && flag !== "--set-file") continue;
    const arg = args[++i];
    if (arg === undefined) throw new Error(`${flag} needs a value`);
    const assignments = flag === "--set-file" ? [arg] : splitAssignments(arg);
    for (const a of assignments) {
      const eq = a.indexOf("=");
      if (eq <= 0) throw new Error(`key "${a}" has no value`);
      const key = a.slice(0, eq);
      const raw = a.slice(eq + 1);
      if (flag === "--set" && /^\{.*\}$/.test(raw))
        throw new Error("--set list syntax {a,b} is outside the subset");
      const value =
        flag === "--set-file" ? readFile(raw) : flag === "--set-string" ? raw : typedSetValue(raw);
      setPath(user, parsePath(key), value);
    }
  }
  return user;
}

/** Helm's coalescing of user values over chart defaults: maps merge, anything else replaces, null deletes. */
export function coalesce(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return structuredClone(over);
  const out: Obj = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isObj(out[k]) && isObj(v) ? coalesce(out[k], v) : structuredClone(v);
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });
let validator: ReturnType<typeof ajv.compile> | undefined;

/** Validates values like Helm does before rendering; returns readable error lines (empty = valid). */
export function validateValues(values: unknown): string[] {
  validator ??= ajv.compile(valuesSchema());
  if (validator(values)) return [];
  return (validator.errors ?? []).map(
    (e: ErrorObject) =>
      `${e.instancePath || "/"}: ${e.message}${e.keyword === "additionalProperties" ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ""}`,
  );
}

export interface Manifest {
  file: string;
  doc: Obj;
}

export interface Rendered {
  values: Obj;
  manifests: Manifest[];
  notes: string;
  /** Raw text of each rendered template file. */
  text: Map<string, string>;
}

export const templateFiles = (): string[] =>
  readdirSync(join(chartDir, "templates"))
    .filter((f) => !f.startsWith("_") && (f.endsWith(".yaml") || f.endsWith(".txt")))
    .sort();

/**
 * `helm template <release> ./helm/tikti <flags>` for the subset: throws the schema errors or the
 * `fail` message (RenderFailure) exactly where helm would refuse.
 */
export function renderChart(
  flags: string[],
  opts: { release?: string; namespace?: string; readFile?: (p: string) => string } = {},
): Rendered {
  const user = applySetFlags(flags, opts.readFile ?? ((p) => readFileSync(p, "utf8")));
  const values = coalesce(chartValues(), user) as Obj;
  const errors = validateValues(values);
  if (errors.length > 0)
    throw new Error(`values don't meet the specifications of the schema:\n${errors.join("\n")}`);

  const r = new Renderer();
  const dir = join(chartDir, "templates");
  r.addFile("_helpers.tpl", readFileSync(join(dir, "_helpers.tpl"), "utf8"));
  for (const f of templateFiles()) r.addFile(f, readFileSync(join(dir, f), "utf8"));
  const meta = chartMeta();
  const root = {
    Values: values,
    Release: {
      Name: opts.release ?? "tikti",
      Namespace: opts.namespace ?? "default",
      Service: "Helm",
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    },
    Chart: { Name: meta.name, Version: meta.version, AppVersion: meta.appVersion },
  };
  const manifests: Manifest[] = [];
  const text = new Map<string, string>();
  let notes = "";
  for (const f of templateFiles()) {
    const out = r.render(f, root);
    text.set(f, out);
    if (f === "NOTES.txt") {
      notes = out;
      continue;
    }
    for (const d of parseAllDocuments(out)) {
      if (d.errors.length > 0)
        throw new Error(`${f}: rendered output is not YAML: ${d.errors[0]!.message}\n${out}`);
      const doc = d.toJS();
      if (doc === null || doc === undefined) continue;
      manifests.push({ file: f, doc: doc as Obj });
    }
  }
  return { values, manifests, notes, text };
}

export function byKind(r: Rendered, kind: string): Obj[] {
  return r.manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
}

export function oneOfKind(r: Rendered, kind: string): Obj {
  const list = byKind(r, kind);
  if (list.length !== 1) throw new Error(`expected one ${kind}, rendered ${list.length}`);
  return list[0]!;
}

/** Property access for tests: at(obj, "spec.template.spec.containers.0.image"). */
export function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const p of path.split(".")) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}
