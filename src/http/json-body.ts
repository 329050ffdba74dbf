/**
 * Request body intake for JSON routes (docs/spec/api.md §2.4, order of checks §2.11.6):
 * media type (415) → size while streaming (413) → one strict JSON object (400).
 *
 * `JSON.parse` silently keeps the last of duplicate keys, which lets two components read different
 * values from one body; the spec refuses duplicates at any depth, so this module has its own small
 * parser. It also never lets a `__proto__` key touch a prototype.
 */
import type { Context } from "hono";
import { readRequestBodyLimited, StreamTooLarge } from "../bytes.ts";
import { TiktiError } from "../errors.ts";

/** 64 KiB: the default JSON body limit. */
export const DEFAULT_BODY_LIMIT = 65_536;

export interface ReadJsonOptions {
  limit?: number;
}

/** Reads, size-checks and parses the body of `c` into one plain JSON object. */
export async function readJsonObject(
  c: Context,
  options: ReadJsonOptions = {},
): Promise<Record<string, unknown>> {
  const limit = options.limit ?? DEFAULT_BODY_LIMIT;
  const contentType = c.req.header("content-type");
  const declared = c.req.header("content-length");

  if (contentType === undefined) {
    // An empty POST with no Content-Type is a missing body (400), not a media-type problem.
    // (`raw.body` only on this error path: it builds a WHATWG Request, see readRequestBodyLimited.)
    const hasBody = c.req.raw.body !== null && declared !== "0";
    if (!hasBody) throw new TiktiError("INVALID_REQUEST", { details: { body: "required" } });
    throw new TiktiError("UNSUPPORTED_MEDIA_TYPE");
  }
  if (!isJsonMediaType(contentType)) throw new TiktiError("UNSUPPORTED_MEDIA_TYPE");
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > limit) throw new TiktiError("PAYLOAD_TOO_LARGE");
  }

  let bytes: Uint8Array;
  try {
    bytes = await readRequestBodyLimited(c.req.raw, limit);
  } catch (e) {
    // Stop at once: the rest of an oversized body is never buffered.
    if (e instanceof StreamTooLarge) throw new TiktiError("PAYLOAD_TOO_LARGE");
    throw e;
  }
  if (bytes.byteLength === 0) throw new TiktiError("INVALID_REQUEST", { details: { body: "required" } });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (cause) {
    throw new TiktiError("INVALID_REQUEST", { cause, details: { body: "not valid UTF-8" } });
  }
  const value = parseStrictJson(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TiktiError("INVALID_REQUEST", { details: { body: "must be one JSON object" } });
  }
  return value as Record<string, unknown>;
}

/** `application/json` with optional parameters (`; charset=utf-8`), case-insensitive. */
export function isJsonMediaType(value: string): boolean {
  const essence = value.split(";", 1)[0]?.trim().toLowerCase();
  return essence === "application/json";
}

class JsonSyntaxError extends Error {}

/**
 * Parses RFC 8259 JSON, refusing duplicate object keys at any depth and trailing data.
 * Throws `TiktiError("INVALID_REQUEST")`.
 */
export function parseStrictJson(text: string): unknown {
  const parser = new StrictJsonParser(text);
  try {
    parser.skipWs();
    const value = parser.value(0);
    parser.skipWs();
    if (parser.pos !== text.length) parser.fail("trailing data");
    return value;
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new TiktiError("INVALID_REQUEST", { details: { body: e.message } });
    }
    throw e;
  }
}

const MAX_DEPTH = 64;

class StrictJsonParser {
  pos = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  fail(reason: string): never {
    throw new JsonSyntaxError(`${reason} at position ${this.pos}`);
  }

  skipWs(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const ch = s.charCodeAt(this.pos);
      if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) this.pos++;
      else break;
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const ch = this.src[this.pos];
    switch (ch) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) return this.number();
        return this.fail(ch === undefined ? "unexpected end" : "unexpected character");
    }
  }

  object(depth: number): Record<string, unknown> {
    this.pos++; // {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.skipWs();
    if (this.src[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.src[this.pos] !== '"') this.fail("expected a key");
      const key = this.string();
      if (seen.has(key)) this.fail(`duplicate key "${key.slice(0, 64)}"`);
      seen.add(key);
      this.skipWs();
      if (this.src[this.pos] !== ":") this.fail("expected ':'");
      this.pos++;
      this.skipWs();
      const v = this.value(depth + 1);
      // defineProperty: a "__proto__" key becomes an own data property, never the prototype.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.skipWs();
      const sep = this.src[this.pos];
      if (sep === ",") {
        this.pos++;
        continue;
      }
      if (sep === "}") {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): unknown[] {
    this.pos++; // [
    const out: unknown[] = [];
    this.skipWs();
    if (this.src[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value(depth + 1));
      this.skipWs();
      const sep = this.src[this.pos];
      if (sep === ",") {
        this.pos++;
        continue;
      }
      if (sep === "]") {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    const s = this.src;
    const start = ++this.pos; // opening quote
    // Fast path: no escapes.
    for (let i = start; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch === 0x22) {
        this.pos = i + 1;
        return s.slice(start, i);
      }
      if (ch === 0x5c || ch < 0x20) break;
    }
    let out = "";
    for (;;) {
      if (this.pos >= s.length) this.fail("unterminated string");
      const ch = s.charCodeAt(this.pos);
      if (ch === 0x22) {
        this.pos++;
        return out;
      }
      if (ch < 0x20) this.fail("control character in string");
      if (ch !== 0x5c) {
        out += s[this.pos];
        this.pos++;
        continue;
      }
      const esc = s[this.pos + 1];
      this.pos += 2;
      switch (esc) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = s.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad unicode escape");
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail("bad escape");
      }
    }
  }

  number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos, this.pos + 400));
    if (!m) this.fail("bad number");
    this.pos += m[0].length;
    return Number(m[0]);
  }

  literal<T>(word: string, value: T): T {
    if (this.src.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    return this.fail("unexpected token");
  }
}
