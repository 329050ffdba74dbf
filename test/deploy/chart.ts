/**
 * helm/tikti rendered by the real helm 3 (test/deploy/helm-binary.ts): `helm template` with the
 * flags a user types, its output parsed as YAML per template file, and helm's own refusals (values
 * schema errors, template `fail` messages) returned as they are printed.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { helmCacheDir, runHelm } from "./helm-binary.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const chartDir = join(repoRoot, "helm/tikti");

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const chartValues = (): Obj => parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as Obj;
export const chartMeta = (): Obj => parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as Obj;
export const valuesSchema = (): Obj => JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));

/** helm refused to render: `message` is what helm printed (schema errors or the `fail` text). */
export class HelmFailure extends Error {}

export interface Manifest {
  file: string;
  doc: Obj;
}

export interface Rendered {
  manifests: Manifest[];
  /** Raw text of each rendered template file, as helm printed it. */
  text: Map<string, string>;
  /** NOTES.txt as helm renders it for these values (rendered on first access). */
  readonly notes: string;
}

export const templateFiles = (): string[] =>
  readdirSync(join(chartDir, "templates"))
    .filter((f) => !f.startsWith("_") && (f.endsWith(".yaml") || f.endsWith(".txt")))
    .sort();

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Directory that relative `--set-file` paths are read from. */
  cwd?: string;
}

/** Splits `helm template` output into template files (`# Source: <chart>/templates/<file>`). */
function splitSources(out: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  for (const chunk of out.split(/^---[ \t]*$/m)) {
    const m = /^\s*# Source: [^/]+\/templates\/(\S+)\n/.exec(chunk);
    if (!m) {
      if (chunk.trim() !== "") throw new Error(`helm output without a # Source line:\n${chunk}`);
      continue;
    }
    const body = chunk.slice(m.index + m[0].length);
    byFile.set(m[1]!, [...(byFile.get(m[1]!) ?? []), body]);
  }
  return byFile;
}

function helmTemplate(chart: string, flags: string[], opts: RenderOptions): string {
  const args = [
    "template",
    opts.release ?? "tikti",
    chart,
    "--namespace",
    opts.namespace ?? "default",
    ...flags,
  ];
  const r = runHelm(args, opts.cwd);
  if (r.status !== 0) throw new HelmFailure(r.stderr.trim() || `helm exited with ${r.status}`);
  return r.stdout;
}

let notesChart: string | undefined;

/**
 * `helm template` never prints NOTES.txt and `helm install --dry-run` needs a cluster, so the
 * notes are rendered from a copy of the chart in which NOTES.txt is also an ordinary template file:
 * the same text through the same helm engine and values.
 */
function renderNotes(flags: string[], opts: RenderOptions): string {
  if (notesChart === undefined) {
    // Keyed by the chart's content and built beside its final name, then renamed into place: no
    // temp dir outlives the run, and parallel test files share one copy.
    const hash = createHash("sha256");
    for (const f of readdirSync(chartDir, { recursive: true, encoding: "utf8" }).sort()) {
      const path = join(chartDir, f);
      if (statSync(path).isFile()) hash.update(`${f}\0`).update(readFileSync(path)).update("\0");
    }
    const final = join(helmCacheDir(), `notes-chart-${hash.digest("hex").slice(0, 16)}`);
    if (!existsSync(final)) buildNotesChart(final);
    notesChart = join(final, "tikti");
  }
  const files = splitSources(helmTemplate(notesChart, flags, opts));
  const doc = parse((files.get("notes-for-tests.yaml") ?? [""])[0]!) as { notes?: string } | null;
  if (typeof doc?.notes !== "string") throw new Error("NOTES.txt did not render");
  return doc.notes;
}

function buildNotesChart(final: string): void {
  const dir = `${final}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    cpSync(chartDir, join(dir, "tikti"), { recursive: true });
    // Helm parses every rendered template as YAML: the notes travel as one JSON string in a
    // document of their own, defined verbatim (no trimming) as a named template.
    const notesText = readFileSync(join(chartDir, "templates/NOTES.txt"), "utf8");
    writeFileSync(
      join(dir, "tikti/templates/_notes-for-tests.tpl"),
      `{{ define "notesForTests" }}${notesText}{{ end }}`,
    );
    writeFileSync(
      join(dir, "tikti/templates/notes-for-tests.yaml"),
      'kind: NotesForTests\nnotes: {{ include "notesForTests" . | toJson }}\n',
    );
    renameSync(dir, final);
  } catch (e) {
    // Another test file renamed its identical copy first: use that one.
    if (!existsSync(final)) throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template <release> ./helm/tikti <flags>`; throws HelmFailure where helm refuses. */
export function renderChart(flags: string[], opts: RenderOptions = {}): Rendered {
  const files = splitSources(helmTemplate(chartDir, flags, opts));
  const manifests: Manifest[] = [];
  const text = new Map<string, string>();
  for (const [file, bodies] of files) {
    text.set(file, bodies.join("---\n"));
    for (const body of bodies) {
      for (const d of parseAllDocuments(body)) {
        if (d.errors.length > 0)
          throw new Error(`${file}: rendered output is not YAML: ${d.errors[0]!.message}\n${body}`);
        const doc = d.toJS();
        if (doc === null || doc === undefined) continue;
        manifests.push({ file, doc: doc as Obj });
      }
    }
  }
  let notes: string | undefined;
  return {
    manifests,
    text,
    get notes() {
      notes ??= renderNotes(flags, opts);
      return notes;
    },
  };
}

/** The message helm prints when it refuses these flags (fails when helm renders them). */
export function helmRefusal(flags: string[], opts: RenderOptions = {}): string {
  try {
    renderChart(flags, opts);
  } catch (e) {
    if (e instanceof HelmFailure) return e.message;
    throw e;
  }
  throw new Error(`helm rendered ${JSON.stringify(flags)} without the expected refusal`);
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
