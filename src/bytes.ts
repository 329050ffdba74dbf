/**
 * Bounded reading of byte streams: request bodies, fetched metadata, inflated SAML messages. One
 * implementation, because every caller needs the same guarantee — stop reading (and cancel the
 * source) the moment the limit is passed, so an oversized input is never buffered further.
 */

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
  if (chunks.length === 1) return chunks[0]!;
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
