/**
 * A small renderer for the subset of Go templates (text/template + the Sprig functions Helm adds)
 * that helm/tikti uses, so the chart can be rendered and checked on machines without `helm`.
 *
 * Honest by construction: any syntax, function or printf verb outside the subset throws instead of
 * guessing, so a template that uses something new fails the tests until the subset grows (or until
 * the test runs next to a real `helm`). Known semantic gaps, kept out of the chart by convention:
 * - Go distinguishes int64 (from --set) and float64 (from values.yaml) and refuses to compare them;
 *   JavaScript has one number type. The chart therefore compares and prints numbers through `int`.
 * - Printing a float directly uses Go's %v (1e+06 for a million); here it prints 1000000. The chart
 *   prints numbers through `int` or `toYaml`, where both agree.
 * - `toYaml` output is equivalent YAML, not byte-identical to sigs.k8s.io/yaml (key order is sorted
 *   the same way; quoting and list indentation may differ).
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";

// ---------------------------------------------------------------- values

type Value = unknown;
type Obj = Record<string, Value>;

const isObj = (v: Value): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Go template truth: false, 0, nil, "", and empty lists and maps are false. */
export function truth(v: Value): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/** What `{{ x }}` prints. */
function print(v: Value): string {
  if (v === null || v === undefined) return ""; // Helm replaces "<no value>" with ""
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new Error(
    `printing a ${Array.isArray(v) ? "list" : "map"} directly is outside the subset (use toYaml)`,
  );
}

/** Sprig's strval (toString, join): nil prints as "<nil>" like fmt's %v. */
function strval(v: Value): string {
  if (v === null || v === undefined) return "<nil>";
  return print(v);
}

function toInt(v: Value): number {
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string" && /^[-+]?\d+$/.test(v.trim())) return Number.parseInt(v, 10);
  if (typeof v === "string" && /^[-+]?\d*\.\d+$/.test(v.trim())) return Math.trunc(Number(v));
  return 0;
}

function kindOf(v: Value): string {
  if (v === null || v === undefined) return "invalid";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  return Array.isArray(v) ? "slice" : "map";
}

function compare(op: string, a: Value, b: Value): number {
  const ka = typeof a;
  const kb = typeof b;
  if ((ka !== "number" && ka !== "string" && ka !== "boolean") || ka !== kb) {
    if (op === "eq" && (a === null || a === undefined || b === null || b === undefined))
      return a === b ? 0 : 1;
    throw new Error(`${op}: incompatible types for comparison (${kindOf(a)} and ${kindOf(b)})`);
  }
  if (op !== "eq" && op !== "ne" && ka === "boolean") throw new Error(`${op}: invalid type for comparison`);
  return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
}

function goYaml(v: Value): string {
  if (v === null || v === undefined) return "null";
  return stringify(v, { sortMapEntries: true, lineWidth: 0, indent: 2 }).replace(/\n$/, "");
}

function indent(n: number, s: string): string {
  const pad = " ".repeat(n);
  return pad + s.replaceAll("\n", `\n${pad}`);
}

/** Thrown by `fail`: what `helm template` reports as "execution error ...: <message>". */
export class RenderFailure extends Error {}

// ---------------------------------------------------------------- syntax tree

type Term =
  | { t: "lit"; v: Value }
  | { t: "dot"; fields: string[] }
  | { t: "var"; name: string; fields: string[] }
  | { t: "fn"; name: string }
  | { t: "sub"; pipe: Pipe; fields: string[] };
type Cmd = Term[];
interface Pipe {
  decl?: { names: string[]; assign: boolean };
  cmds: Cmd[];
}
type Node =
  | { k: "text"; s: string }
  | { k: "out"; pipe: Pipe }
  | { k: "if"; branches: { pipe: Pipe; body: Node[] }[]; other: Node[] }
  | { k: "range" | "with"; pipe: Pipe; body: Node[]; other: Node[] }
  | { k: "define"; name: string; body: Node[] };

const KEYWORDS = new Set([
  "if",
  "else",
  "end",
  "range",
  "with",
  "define",
  "template",
  "block",
  "break",
  "continue",
]);

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw new Error(`unterminated string in {{ ${src} }}`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw new Error(`unterminated raw string in {{ ${src} }}`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
    } else if (c === ")" && src[i + 1] === ".") {
      // `(pipeline).Field`: a field chain glued to the parenthesis belongs to it.
      const m = /^\.[A-Za-z0-9_.]+/.exec(src.slice(i + 1))!;
      out.push(")", `@${m[0]}`);
      i += 1 + m[0].length;
    } else if ("()|,".includes(c)) {
      out.push(c);
      i++;
    } else if (src.startsWith(":=", i)) {
      out.push(":=");
      i += 2;
    } else if (c === "=") {
      out.push("=");
      i++;
    } else {
      const m = /^[^\s()|,=]+/.exec(src.slice(i));
      out.push(m![0]);
      i += m![0].length;
    }
  }
  return out;
}

function fieldsOf(word: string, from: number): string[] {
  const rest = word.slice(from);
  if (rest === "") return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(rest)) throw new Error(`bad field chain "${word}"`);
  return rest.slice(1).split(".");
}

function parsePipe(tokens: string[], allowDecl: boolean): Pipe {
  let pos = 0;
  const pipe: Pipe = { cmds: [] };
  if (allowDecl) {
    const names: string[] = [];
    let j = 0;
    while (tokens[j]?.startsWith("$") && /^\$[A-Za-z_]\w*$/.test(tokens[j]!)) {
      names.push(tokens[j]!.slice(1));
      if (tokens[j + 1] === ",") j += 2;
      else {
        j++;
        break;
      }
    }
    if (names.length > 0 && (tokens[j] === ":=" || tokens[j] === "=")) {
      pipe.decl = { names, assign: tokens[j] === "=" };
      pos = j + 1;
    }
  }
  const parseTerm = (): Term => {
    const tok = tokens[pos++];
    if (tok === undefined) throw new Error("unexpected end of action");
    if (tok === "(") {
      let depth = 1;
      const start = pos;
      while (pos < tokens.length && depth > 0) {
        if (tokens[pos] === "(") depth++;
        if (tokens[pos] === ")") depth--;
        pos++;
      }
      if (depth !== 0) throw new Error("unbalanced parentheses");
      const inner = parsePipe(tokens.slice(start, pos - 1), false);
      let fields: string[] = [];
      if (tokens[pos]?.startsWith("@.")) fields = fieldsOf(tokens[pos++]!, 1);
      return { t: "sub", pipe: inner, fields };
    }
    if (tok.startsWith('"')) return { t: "lit", v: JSON.parse(tok) };
    if (tok.startsWith("`")) return { t: "lit", v: tok.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(tok)) return { t: "lit", v: Number(tok) };
    if (tok === "true" || tok === "false") return { t: "lit", v: tok === "true" };
    if (tok === "nil") return { t: "lit", v: null };
    if (tok === ".") return { t: "dot", fields: [] };
    if (tok.startsWith(".")) return { t: "dot", fields: fieldsOf(tok, 0) };
    if (tok.startsWith("$")) {
      const m = /^\$([A-Za-z_]\w*)?/.exec(tok)!;
      return { t: "var", name: m[1] ?? "", fields: fieldsOf(tok, m[0].length) };
    }
    if (/^[A-Za-z_]\w*$/.test(tok) && !KEYWORDS.has(tok)) return { t: "fn", name: tok };
    throw new Error(`unsupported token "${tok}"`);
  };
  let cmd: Cmd = [];
  while (pos < tokens.length) {
    if (tokens[pos] === "|") {
      if (cmd.length === 0) throw new Error("empty command in pipeline");
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    if (tokens[pos] === ")" || tokens[pos] === "," || tokens[pos] === "=" || tokens[pos] === ":=") {
      throw new Error(`unexpected "${tokens[pos]}"`);
    }
    cmd.push(parseTerm());
  }
  if (cmd.length === 0) throw new Error("missing value in action");
  pipe.cmds.push(cmd);
  return pipe;
}

interface Segment {
  text?: string;
  action?: string;
}

function segments(src: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let body = "";
    let close: number;
    const trimLeft = /^\{\{-\s/.test(src.slice(open, open + 4));
    const start = open + (trimLeft ? 3 : 2);
    const commentStart = src.slice(start).match(/^\s*\/\*/);
    if (commentStart) {
      const end = src.indexOf("*/", start);
      if (end < 0) throw new Error("unterminated comment");
      close = src.indexOf("}}", end);
      body = "";
    } else {
      close = src.indexOf("}}", start);
      if (close < 0) throw new Error("unterminated action");
      body = src.slice(start, close);
    }
    const trimRight = /\s-$/.test(src.slice(start, close));
    if (trimRight && !commentStart) body = body.slice(0, -1);
    if (trimLeft) text = text.replace(/\s+$/, "");
    out.push({ text });
    out.push({ action: commentStart ? "/*comment*/" : body.trim() });
    i = close + 2;
    if (trimRight) {
      const m = /^\s*/.exec(src.slice(i))!;
      i += m[0].length;
    }
  }
  return out;
}

/** Parses one template file; `{{ define }}` blocks are returned separately. */
export function parseTemplate(src: string, file: string): { nodes: Node[]; defines: Map<string, Node[]> } {
  const defines = new Map<string, Node[]>();
  const segs = segments(src);
  let pos = 0;
  const parseList = (closers: string[]): { nodes: Node[]; closer: string } => {
    const nodes: Node[] = [];
    while (pos < segs.length) {
      const seg = segs[pos++]!;
      if (seg.text !== undefined) {
        if (seg.text !== "") nodes.push({ k: "text", s: seg.text });
        continue;
      }
      const action = seg.action!;
      if (action === "/*comment*/") continue;
      const tokens = tokenize(action);
      const head = tokens[0];
      if (head === "end" || head === "else") {
        if (!closers.includes(head)) throw new Error(`${file}: unexpected {{ ${action} }}`);
        pos--;
        return { nodes, closer: head };
      }
      if (head === "if" || head === "range" || head === "with") {
        const pipe = parsePipe(tokens.slice(1), true);
        const branches = [{ pipe, body: [] as Node[] }];
        let other: Node[] = [];
        for (;;) {
          const { nodes: body, closer } = parseList(["end", "else"]);
          branches[branches.length - 1]!.body = body;
          const closing = tokenize(segs[pos++]!.action!);
          if (closer === "end") break;
          if (closing[1] === "if" && head === "if") {
            branches.push({ pipe: parsePipe(closing.slice(2), false), body: [] });
            continue;
          }
          if (closing.length > 1) throw new Error(`${file}: unsupported {{ ${closing.join(" ")} }}`);
          other = parseList(["end"]).nodes;
          pos++;
          break;
        }
        if (head === "if") nodes.push({ k: "if", branches, other });
        else nodes.push({ k: head, pipe, body: branches[0]!.body, other });
        continue;
      }
      if (head === "define") {
        const name = JSON.parse(tokens[1] ?? "null");
        if (typeof name !== "string" || tokens.length !== 2) throw new Error(`${file}: bad define`);
        const { nodes: body } = parseList(["end"]);
        pos++;
        defines.set(name, body);
        continue;
      }
      if (head !== undefined && KEYWORDS.has(head))
        throw new Error(`${file}: {{ ${head} }} is outside the subset`);
      nodes.push({ k: "out", pipe: parsePipe(tokens, true) });
    }
    if (closers.length > 0) throw new Error(`${file}: missing {{ end }}`);
    return { nodes, closer: "" };
  };
  const { nodes } = parseList([]);
  return { nodes, defines };
}

// ---------------------------------------------------------------- execution

type Scope = Map<string, Value>[];

export class Renderer {
  private readonly defines = new Map<string, Node[]>();
  private readonly files = new Map<string, Node[]>();

  addFile(name: string, src: string): void {
    const { nodes, defines } = parseTemplate(src, name);
    this.files.set(name, nodes);
    for (const [k, v] of defines) this.defines.set(k, v);
  }

  render(name: string, root: Value): string {
    const nodes = this.files.get(name);
    if (!nodes) throw new Error(`no template ${name}`);
    return this.exec(nodes, root, [new Map([["", root]])]);
  }

  private exec(nodes: Node[], dot: Value, scope: Scope): string {
    let out = "";
    for (const n of nodes) {
      switch (n.k) {
        case "text":
          out += n.s;
          break;
        case "out": {
          const v = this.pipe(n.pipe, dot, scope);
          if (!n.pipe.decl) out += print(v);
          break;
        }
        case "if": {
          const inner: Scope = [...scope, new Map()];
          const hit = n.branches.find((b) => truth(this.pipe(b.pipe, dot, inner)));
          out += this.exec(hit ? hit.body : n.other, dot, inner);
          break;
        }
        case "with": {
          const inner: Scope = [...scope, new Map()];
          const v = this.pipe({ ...n.pipe, decl: undefined }, dot, inner);
          if (n.pipe.decl) inner.at(-1)!.set(n.pipe.decl.names[0]!, v);
          out += truth(v) ? this.exec(n.body, v, inner) : this.exec(n.other, dot, inner);
          break;
        }
        case "range": {
          const coll = this.pipe({ ...n.pipe, decl: undefined }, dot, scope);
          const entries: [Value, Value][] = Array.isArray(coll)
            ? coll.map((v, i) => [i, v])
            : isObj(coll)
              ? Object.keys(coll)
                  .sort()
                  .map((k) => [k, coll[k]])
              : coll === null || coll === undefined
                ? []
                : (() => {
                    throw new Error(`range over ${kindOf(coll)} is outside the subset`);
                  })();
          if (entries.length === 0) out += this.exec(n.other, dot, scope);
          for (const [k, v] of entries) {
            const inner: Scope = [...scope, new Map()];
            const names = n.pipe.decl?.names ?? [];
            if (names.length === 1) inner.at(-1)!.set(names[0]!, v);
            if (names.length === 2) {
              inner.at(-1)!.set(names[0]!, k);
              inner.at(-1)!.set(names[1]!, v);
            }
            out += this.exec(n.body, v, inner);
          }
          break;
        }
        case "define":
          break;
      }
    }
    return out;
  }

  private pipe(p: Pipe, dot: Value, scope: Scope): Value {
    let value: Value;
    let first = true;
    for (const cmd of p.cmds) {
      value = this.cmd(cmd, dot, scope, first ? [] : [value]);
      first = false;
    }
    if (p.decl) {
      const name = p.decl.names[0]!;
      if (p.decl.names.length !== 1) throw new Error("multiple variables outside range");
      if (p.decl.assign) {
        const frame = [...scope].reverse().find((f) => f.has(name));
        if (!frame) throw new Error(`undefined variable $${name}`);
        frame.set(name, value);
      } else {
        scope.at(-1)!.set(name, value);
      }
    }
    return value;
  }

  private field(v: Value, fields: string[], what: string): Value {
    let cur = v;
    for (const f of fields) {
      if (!isObj(cur)) throw new Error(`nil pointer evaluating ${what}.${f}`);
      cur = cur[f];
    }
    return cur;
  }

  private term(t: Term, dot: Value, scope: Scope): Value {
    switch (t.t) {
      case "lit":
        return t.v;
      case "dot":
        return this.field(dot, t.fields, ".");
      case "var": {
        const frame = [...scope].reverse().find((f) => f.has(t.name));
        if (!frame) throw new Error(`undefined variable $${t.name}`);
        return this.field(frame.get(t.name), t.fields, `$${t.name}`);
      }
      case "sub":
        return this.field(this.pipe(t.pipe, dot, scope), t.fields, "(...)");
      case "fn":
        return this.call(t.name, [], dot, scope);
    }
  }

  private cmd(cmd: Cmd, dot: Value, scope: Scope, piped: Value[]): Value {
    const [head, ...rest] = cmd;
    if (head!.t === "fn") {
      const name = head!.name;
      if (name === "and" || name === "or") {
        const args = [...rest.map((r) => () => this.term(r, dot, scope)), ...piped.map((v) => () => v)];
        let last: Value;
        for (const a of args) {
          last = a();
          if (name === "and" ? !truth(last) : truth(last)) return last;
        }
        return last;
      }
      const args = [...rest.map((r) => this.term(r, dot, scope)), ...piped];
      return this.call(name, args, dot, scope);
    }
    if (rest.length > 0 || piped.length > 0) throw new Error("a value cannot take arguments");
    return this.term(head!, dot, scope);
  }

  private call(name: string, a: Value[], _dot: Value, _scope: Scope): Value {
    const str = (i: number) => {
      const v = a[i];
      if (typeof v !== "string")
        throw new Error(`${name}: argument ${i + 1} must be a string, got ${kindOf(v)}`);
      return v;
    };
    const arity = (n: number) => {
      if (a.length !== n) throw new Error(`${name}: wants ${n} arguments, got ${a.length}`);
    };
    switch (name) {
      case "include": {
        arity(2);
        const body = this.defines.get(str(0));
        if (!body) throw new Error(`include: no template "${a[0]}"`);
        return this.exec(body, a[1], [new Map([["", a[1]]])]);
      }
      case "fail":
        arity(1);
        throw new RenderFailure(str(0));
      case "default":
        arity(2);
        return truth(a[1]) ? a[1] : a[0];
      case "empty":
        arity(1);
        return !truth(a[0]);
      case "not":
        arity(1);
        return !truth(a[0]);
      case "quote":
        return a
          .filter((v) => v !== null && v !== undefined)
          .map((v) => JSON.stringify(strval(v)))
          .join(" ");
      case "toYaml":
        arity(1);
        return goYaml(a[0]);
      case "indent":
        arity(2);
        return indent(toInt(a[0]), str(1));
      case "nindent":
        arity(2);
        return `\n${indent(toInt(a[0]), str(1))}`;
      case "trim":
        arity(1);
        return str(0).trim();
      case "trunc":
        arity(2);
        return str(1).slice(0, toInt(a[0]));
      case "trimSuffix":
        arity(2);
        return str(1).endsWith(str(0)) ? str(1).slice(0, -str(0).length || undefined) : str(1);
      case "contains":
        arity(2);
        return str(1).includes(str(0));
      case "replace":
        arity(3);
        return str(2).replaceAll(str(0), str(1));
      case "printf": {
        let i = 1;
        const text = str(0).replace(/%([sdv%])/g, (_m, verb: string) => {
          if (verb === "%") return "%";
          const v = a[i++];
          if (verb === "d") {
            if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`printf %d of ${kindOf(v)}`);
            return String(v);
          }
          if (verb === "s" && typeof v !== "string") throw new Error(`printf %s of ${kindOf(v)}`);
          return print(v);
        });
        // Go appends "%!(EXTRA ...)" or prints "%!s(MISSING)": both are chart bugs.
        if (i !== a.length)
          throw new Error(`printf: ${a.length - 1} arguments for ${i - 1} verbs (EXTRA/MISSING)`);
        return text;
      }
      case "toString":
        arity(1);
        return strval(a[0]);
      case "int":
        arity(1);
        return toInt(a[0]);
      case "len": {
        arity(1);
        const v = a[0];
        if (typeof v === "string" || Array.isArray(v)) return v.length;
        if (isObj(v)) return Object.keys(v).length;
        throw new Error(`len of ${kindOf(v)}`);
      }
      case "eq":
        if (a.length < 2) throw new Error("eq: wants at least 2 arguments");
        return a.slice(1).some((b) => compare("eq", a[0], b) === 0);
      case "ne":
        arity(2);
        return compare("ne", a[0], a[1]) !== 0;
      case "gt":
        arity(2);
        return compare("gt", a[0], a[1]) > 0;
      case "lt":
        arity(2);
        return compare("lt", a[0], a[1]) < 0;
      case "dict": {
        if (a.length % 2 !== 0) throw new Error("dict: odd number of arguments");
        const d: Obj = {};
        for (let i = 0; i < a.length; i += 2) d[strval(a[i])] = a[i + 1];
        return d;
      }
      case "list":
        return [...a];
      case "append":
        arity(2);
        if (!Array.isArray(a[0])) throw new Error("append: not a list");
        return [...a[0], a[1]];
      case "concat":
        return a.flatMap((l) => {
          if (l === null || l === undefined) return [];
          if (!Array.isArray(l)) throw new Error("concat: not a list");
          return l;
        });
      case "join":
        arity(2);
        if (!Array.isArray(a[1])) throw new Error("join: not a list");
        return a[1].map(strval).join(str(0));
      case "index": {
        let cur = a[0];
        for (const k of a.slice(1)) {
          if (Array.isArray(cur)) {
            if (typeof k !== "number" || k < 0 || k >= cur.length)
              throw new Error(`index out of range: ${k}`);
            cur = cur[k];
          } else if (isObj(cur)) cur = cur[strval(k)];
          else if (cur === null || cur === undefined) throw new Error("index of untyped nil");
          else throw new Error(`can't index item of type ${kindOf(cur)}`);
        }
        return cur;
      }
      case "hasKey":
        arity(2);
        if (!isObj(a[0])) throw new Error("hasKey: not a map");
        return Object.hasOwn(a[0], str(1));
      case "set":
        arity(3);
        if (!isObj(a[0])) throw new Error("set: not a map");
        a[0][str(1)] = a[2];
        return a[0];
      case "deepCopy":
        arity(1);
        if (a[0] === null || a[0] === undefined) throw new Error("deepCopy: nil");
        return structuredClone(a[0]);
      case "b64enc":
        arity(1);
        return Buffer.from(str(0), "utf8").toString("base64");
      case "sha256sum":
        arity(1);
        return createHash("sha256").update(str(0), "utf8").digest("hex");
      case "ternary":
        arity(3);
        return truth(a[2]) ? a[0] : a[1];
      case "kindIs":
        arity(2);
        if (str(0) === "float64" || str(0) === "int64")
          throw new Error("kindIs: numeric kinds are outside the subset");
        return kindOf(a[1]) === str(0);
      default:
        throw new Error(`function "${name}" is outside the subset`);
    }
  }
}
