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

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Canonical unpadded base64url only (RFC 7515 §2); `undefined` for anything else. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!B64URL.test(text) || text.length % 4 === 1) return undefined;
  const out = fromBase64(
    text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4),
  );
  // Canonical only: non-zero spare bits would give one value several spellings (malleability).
  return toBase64Url(out) === text ? out : undefined;
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

/** A request body of at most `limit` bytes: a larger `Content-Length` is refused before reading. */
export async function readRequestBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw new StreamTooLarge(limit);
  return readAllLimited(req.body, limit);
}
