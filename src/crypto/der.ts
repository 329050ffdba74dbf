/**
 * The one DER (X.690) reader and writer; X.509 on top of it is src/crypto/x509.ts.
 *
 * Reading is strict: definite lengths of at most four bytes, low tag numbers only, no element
 * running past its parent. Anything else throws `DerError` — never a partial result. Writing covers
 * what Tikti builds itself: PKCS#8 wrapping of PKCS#1 keys (src/crypto/pem.ts) and self-signed
 * certificates (src/crypto/x509.ts).
 */
import { concatBytes } from "../bytes.ts";
import { must } from "../must.ts";

/** The universal tags Tikti reads or writes. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export class DerError extends Error {
  override readonly name = "DerError";
}

function fail(what: string): never {
  throw new DerError(`malformed DER: ${what}`);
}

// ------------------------------------------------------------------------------------ reader

/** One element: offsets into the buffer it was read from. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset after the last content byte. */
  end: number;
}

/** The element at `offset`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined || offset + 2 > limit) fail("truncated");
  if ((tag & 0x1f) === 0x1f) fail("high tag number");
  let pos = offset + 2;
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0) fail("indefinite length");
    if (n > 4) fail("length too large");
    len = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[pos++];
      if (b === undefined) fail("truncated length");
      len = len * 256 + b;
    }
  }
  if (pos + len > limit) fail("length beyond the enclosing element");
  return { tag, start: offset, contentStart: pos, end: pos + len };
}

/** The single element that is the whole of `buf` (trailing bytes are refused). */
export function readDocument(buf: Uint8Array, tag: number, what: string): Tlv {
  const el = readTlv(buf, 0);
  if (el.tag !== tag) fail(`expected ${what}`);
  if (el.end !== buf.length) fail(`trailing bytes after ${what}`);
  return el;
}

/** The children of a constructed element, in order. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** `el` itself when present with `tag`; throws otherwise (`what` names the field). */
export function expectTag(el: Tlv | undefined, tag: number, what: string): Tlv {
  if (!el || el.tag !== tag) fail(`expected ${what}`);
  return el;
}

/** The content octets of `el` (a view, not a copy). */
export function contentOf(buf: Uint8Array, el: Tlv): Uint8Array {
  return buf.subarray(el.contentStart, el.end);
}

/** The whole encoding of `el`, tag and length included (a copy). */
export function encodingOf(buf: Uint8Array, el: Tlv): Uint8Array {
  return buf.slice(el.start, el.end);
}

/** OBJECT IDENTIFIER in dotted form (X.690 §8.19). */
export function readOid(buf: Uint8Array, el: Tlv): string {
  const bytes = contentOf(buf, expectTag(el, TAG.oid, "OBJECT IDENTIFIER"));
  if (bytes.length === 0) fail("empty OID");
  if ((bytes[bytes.length - 1] ?? 0) & 0x80) fail("truncated OID");
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const [head = 0, ...rest] = parts;
  const first = head < 40 ? 0 : head < 80 ? 1 : 2;
  return [first, head - first * 40, ...rest].join(".");
}

/** UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5: `Z` only) as milliseconds since the epoch. */
export function readTime(buf: Uint8Array, el: Tlv): number {
  const text = new TextDecoder("latin1").decode(contentOf(buf, el));
  const at = (m: RegExpExecArray, i: number) => Number(m[i]);
  if (el.tag === TAG.utcTime) {
    // YYMMDDHHMMSSZ; YY >= 50 means 19YY (RFC 5280 §4.1.2.5.1).
    const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) return fail("UTCTime");
    const yy = at(m, 1);
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, at(m, 2) - 1, at(m, 3), at(m, 4), at(m, 5), at(m, 6));
  }
  if (el.tag === TAG.generalizedTime) {
    const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!m) return fail("GeneralizedTime");
    return Date.UTC(at(m, 1), at(m, 2) - 1, at(m, 3), at(m, 4), at(m, 5), at(m, 6));
  }
  return fail("expected a time");
}

/** A non-negative INTEGER's magnitude without leading zero bytes (at least one byte). */
export function readUnsignedInteger(buf: Uint8Array, el: Tlv): Uint8Array {
  let bytes = contentOf(buf, expectTag(el, TAG.integer, "INTEGER"));
  if (bytes.length === 0) fail("empty INTEGER");
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return bytes;
}

/** The bytes of a BIT STRING that has no unused bits (keys, signatures). */
export function readBitStringBytes(buf: Uint8Array, el: Tlv): Uint8Array {
  const content = contentOf(buf, expectTag(el, TAG.bitString, "BIT STRING"));
  if (content[0] !== 0) fail("BIT STRING with unused bits");
  return content.subarray(1);
}

/** Number of significant bits of a big-endian unsigned integer (leading zero bytes ignored). */
export function bitLength(bytes: Uint8Array): number {
  const i = bytes.findIndex((b) => b !== 0);
  if (i === -1) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i] ?? 0));
}

// ------------------------------------------------------------------------------------ writer

/** Definite-length encoding of a content length. */
export function derLength(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

/** Tag, length, value. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const content = concatBytes(parts);
  return concatBytes([new Uint8Array([tag]), derLength(content.length), content]);
}

export const seq = (...parts: Uint8Array[]) => tlv(TAG.sequence, ...parts);
export const set = (...parts: Uint8Array[]) => tlv(TAG.set, ...parts);
export const derNull = () => tlv(TAG.null);
export const octetString = (bytes: Uint8Array) => tlv(TAG.octetString, bytes);
export const utf8String = (text: string) => tlv(TAG.utf8String, new TextEncoder().encode(text));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array) => tlv(TAG.bitString, new Uint8Array([0]), bytes);

/** A non-negative INTEGER from its big-endian magnitude (minimal, with a 0 byte when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array | number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof magnitude === "number") {
    const out: number[] = [];
    for (let v = magnitude; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
    bytes = new Uint8Array(out);
  } else {
    const i = magnitude.findIndex((b) => b !== 0);
    bytes = i === -1 ? new Uint8Array(0) : magnitude.subarray(i);
  }
  if (bytes.length === 0) return tlv(TAG.integer, new Uint8Array([0]));
  return (bytes[0] ?? 0) & 0x80 ? tlv(TAG.integer, new Uint8Array([0]), bytes) : tlv(TAG.integer, bytes);
}

/**
 * OBJECT IDENTIFIER from dotted form (X.690 §8.19). Every subidentifier is base-128, the first
 * (40 × arc1 + arc2) included: under arc 2 it can exceed 127 (`2.999` is 1079, two bytes).
 */
export function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out: number[] = [];
  for (const n of [
    40 * must(a, `first arc of OID ${dotted}`) + must(b, `second arc of OID ${dotted}`),
    ...rest,
  ]) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.oid, new Uint8Array(out));
}

/** RFC 5280 §4.1.2.5: UTCTime for 1950–2049, GeneralizedTime otherwise. */
export function derTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y >= 1950 && y < 2050) return tlv(TAG.utcTime, new TextEncoder().encode(`${p(y % 100)}${rest}`));
  return tlv(TAG.generalizedTime, new TextEncoder().encode(`${p(y, 4)}${rest}`));
}
