/**
 * What a command returns, and how it is printed (docs/spec/cli.md §3): `json` is exactly one JSON
 * document on stdout; `pretty` is key/value lines or aligned tables with upper-case headers.
 * Colour only when the stream is a terminal and `NO_COLOR` is unset (https://no-color.org).
 * Every printed value is escaped (src/terminal-text.ts): stored data is shown, never obeyed.
 */
import { escapeControls, escapeJsonText } from "../src/terminal-text.ts";

// tikti-migrate prints stored values too, so the escaping itself lives with the pure helpers.
export { escapeControls };

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

/** One line per cell: a newline or tab inside a value would forge rows and columns, so it is escaped too. */
function cellText(c: Cell): string {
  if (c === null || c === undefined || c === "") return "-";
  if (Array.isArray(c)) return c.length === 0 ? "-" : escapeControls(c.join(","));
  return escapeControls(String(c));
}

export function renderPretty(p: Pretty, style: Style): string {
  const bold = paint(1, style.colour);
  const dim = paint(2, style.colour);
  switch (p.kind) {
    case "text": {
      // Free text keeps its line breaks and tabs (PEM blocks, reports), nothing else.
      const safe = escapeControls(p.text, "\n\t");
      return safe.endsWith("\n") ? safe : `${safe}\n`;
    }
    case "fields": {
      if (p.fields.length === 0) return "";
      const width = Math.max(...p.fields.map(([k]) => k.length));
      return p.fields.map(([k, v]) => `${dim(escapeControls(k).padEnd(width))}  ${cellText(v)}\n`).join("");
    }
    case "table": {
      if (p.rows.length === 0) return `${p.empty ?? "(none)"}\n`;
      const headers = p.headers.map((h) => escapeControls(h.toUpperCase()));
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

/**
 * One JSON document, the same data for any parser, with DEL, C1 and format characters written as
 * `\uXXXX` (JSON.stringify escapes only C0): nothing a terminal would act on.
 */
export function renderJson(value: unknown): string {
  return `${escapeJsonText(JSON.stringify(value ?? null, null, 2))}\n`;
}
