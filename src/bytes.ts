/**
 * Bytes: the one home of the encodings (hex, base64, base64url), SHA-256 digests, random hex, and
 * bounded reading of byte streams (request bodies, fetched metadata, inflated SAML messages).
 * Bounded reading has one implementation because every caller needs the same guarantee — stop
 * reading (and cancel the source) the moment the limit is passed, so an oversized input is never
 * buffered further.
 */

const encoder = new TextEncoder();

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] as number).toString(16).padStart(2, "0");
  return out;
}

/** The bytes of an even-length hex text; the caller checks the grammar first. */
export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Standard, padded base64 (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i] as number);
  return btoa(bin);
}

/** Standard base64 as `atob` reads it (throws on characters outside the alphabet). */
export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Standard base64 after removing ASCII whitespace; `null` unless alphabet and padding are exact. */
export function strictBase64(text: string): Uint8Array | null {
  const b64 = text.replace(/[ \t\r\n\f]+/g, "");
  if (b64 === "" || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  return fromBase64(b64);
}

/** Unpadded base64url (RFC 4648 §5) of bytes, or of the UTF-8 bytes of a string. */
export function toBase64Url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toBase64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The 6-bit value of each ASCII base64url character; -1 for every other code unit below 128. */
const B64URL_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/** The 6-bit value of `text[i]`, or -1 outside the base64url alphabet. */
function b64urlValue(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? (B64URL_VALUES[code] as number) : -1;
}

/**
 * Canonical unpadded base64url only (RFC 7515 §2); `undefined` for anything else. Decoded in one
 * pass with a table (every idToken check decodes three segments, issue 14): no regex, no
 * intermediate strings. Canonical: the spare low bits of a final partial group must be zero, or one
 * value would have several spellings (malleability).
 */
export function fromBase64Url(text: string): Uint8Array | undefined {
  const n = text.length;
  const rest = n % 4;
  if (rest === 1) return undefined;
  const out = new Uint8Array((n * 3) >> 2);
  let o = 0;
  const full = n - rest;
  for (let i = 0; i < full; i += 4) {
    const a = b64urlValue(text, i);
    const b = b64urlValue(text, i + 1);
    const c = b64urlValue(text, i + 2);
    const d = b64urlValue(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (rest === 2) {
    const a = b64urlValue(text, full);
    const b = b64urlValue(text, full + 1);
    if ((a | b) < 0 || (b & 0x0f) !== 0) return undefined;
    out[o] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = b64urlValue(text, full);
    const b = b64urlValue(text, full + 1);
    const c = b64urlValue(text, full + 2);
    if ((a | b | c) < 0 || (c & 0x03) !== 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o] = ((b & 0x0f) << 4) | (c >> 2);
  }
  return out;
}

/** SHA-256 of bytes, or of the UTF-8 bytes of a string. */
export async function sha256(value: string | Uint8Array): Promise<Uint8Array> {
  const data = typeof value === "string" ? encoder.encode(value) : value;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

/** Lowercase hex of the SHA-256 of `value`. */
export async function sha256Hex(value: string | Uint8Array): Promise<string> {
  return toHex(await sha256(value));
}

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Thrown by `readAllLimited` when the stream yields more than `limit` bytes. */
export class StreamTooLarge extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`stream exceeds ${limit} bytes`);
    this.name = "StreamTooLarge";
    this.limit = limit;
  }
}

/**
 * Reads the whole stream, refusing with `StreamTooLarge` as soon as more than `limit` bytes
 * arrived. Errors of the stream itself propagate unchanged.
 */
export async function readAllLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new StreamTooLarge(limit);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const [only] = chunks;
  if (chunks.length === 1 && only !== undefined) return only;
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * A request body of at most `limit` bytes: a larger `Content-Length` is refused before reading.
 *
 * A body with a declared length within the limit is read in one piece (`arrayBuffer()`): the HTTP
 * parser ends the message after exactly the declared bytes, so nothing beyond the limit is
 * buffered. On the server's request object (@hono/node-server, every runtime) that reads straight
 * from the socket; touching `req.body` instead builds a WHATWG Request with an AbortController and
 * web streams per request, which V8's scavenger keeps alive (weak references count as strong there)
 * until a full GC: about 6 KB promoted per POST, scavenge pauses of 5–16 ms instead of 1 ms, the
 * POST routes' latency tail (docs/adr/0115-request-bodies-without-web-streams.md). A body without
 * a length (chunked) is streamed and stops at `limit`.
 */
export async function readRequestBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const header = req.headers.get("content-length");
  const declared = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (declared !== undefined && declared > limit) throw new StreamTooLarge(limit);
  if (declared === undefined) return readAllLimited(req.body, limit);
  const bytes = new Uint8Array(await req.arrayBuffer());
  // Defence in depth: a request object that did not stop at its declared length.
  if (bytes.byteLength > limit) throw new StreamTooLarge(limit);
  return bytes;
}
