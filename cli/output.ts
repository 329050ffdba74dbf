/**
 * What a command returns, and how it is printed (spec/cli.md §3): `json` is exactly one JSON
 * document on stdout; `pretty` is key/value lines or aligned tables with upper-case headers.
 * Colour only when the stream is a terminal and `NO_COLOR` is unset (https://no-color.org).
 */

export type Cell = string | number | boolean | null | undefined | readonly string[];

export type Pretty =
  | { kind: "text"; text: string }
  | { kind: "fields"; fields: ReadonlyArray<readonly [string, Cell]> }
  | { kind: "table"; headers: readonly string[]; rows: ReadonlyArray<readonly Cell[]>; empty?: string }
  | { kind: "blocks"; blocks: readonly Pretty[] };

export interface CommandResult {
  /** Printed as is in `--output json`. */
  json: unknown;
  pretty: Pretty;
}

export const text = (value: string): Pretty => ({ kind: "text", text: value });
export const fields = (entries: ReadonlyArray<readonly [string, Cell]>): Pretty => ({
  kind: "fields",
  fields: entries,
});
export const table = (
  headers: readonly string[],
  rows: ReadonlyArray<readonly Cell[]>,
  empty?: string,
): Pretty => ({
  kind: "table",
  headers,
  rows,
  ...(empty !== undefined ? { empty } : {}),
});
export const blocks = (...parts: Pretty[]): Pretty => ({ kind: "blocks", blocks: parts });

/** Key/value lines for every scalar or string-array member of an object, in its own order. */
export function objectFields(obj: unknown): Pretty {
  const entries: Array<readonly [string, Cell]> = [];
  if (typeof obj === "object" && obj !== null) {
    for (const [k, v] of Object.entries(obj)) entries.push([k, toCell(v)]);
  }
  return fields(entries);
}

function toCell(v: unknown): Cell {
  if (
    v === null ||
    v === undefined ||
    typeof v === "string" ||
    typeof v === "number" ||
    typeof v === "boolean"
  ) {
    return v;
  }
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  return JSON.stringify(v);
}

export function result(json: unknown, pretty: Pretty = objectFields(json)): CommandResult {
  return { json, pretty };
}

export interface Style {
  colour: boolean;
}

/** Colour is allowed on a terminal unless NO_COLOR is set to anything non-empty or TERM is dumb. */
export function colourAllowed(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === "") && env.TERM !== "dumb";
}

const paint = (code: number, on: boolean) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === "") return "-";
  if (Array.isArray(c)) return c.length === 0 ? "-" : c.join(",");
  return String(c);
}

export function renderPretty(p: Pretty, style: Style): string {
  const bold = paint(1, style.colour);
  const dim = paint(2, style.colour);
  switch (p.kind) {
    case "text":
      return p.text.endsWith("\n") ? p.text : `${p.text}\n`;
    case "fields": {
      if (p.fields.length === 0) return "";
      const width = Math.max(...p.fields.map(([k]) => k.length));
      return p.fields.map(([k, v]) => `${dim(k.padEnd(width))}  ${cellText(v)}\n`).join("");
    }
    case "table": {
      if (p.rows.length === 0) return `${p.empty ?? "(none)"}\n`;
      const headers = p.headers.map((h) => h.toUpperCase());
      const cells = p.rows.map((r) => headers.map((_, i) => cellText(r[i])));
      const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
      const line = (cols: string[], style: (s: string) => string) =>
        `${cols
          .map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!)))
          .map(style)
          .join("  ")}\n`;
      return line(headers, bold) + cells.map((r) => line(r, (s) => s)).join("");
    }
    case "blocks":
      return p.blocks
        .map((b) => renderPretty(b, style))
        .filter((s) => s !== "")
        .join("\n");
  }
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value ?? null, null, 2)}\n`;
}
