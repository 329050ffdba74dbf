/** JSON responses with the media type of docs/spec/api.md §2.5 (`application/json; charset=utf-8`). */
import type { Context } from "hono";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

const encoder = new TextEncoder();

/**
 * A text body sent as bytes with its `Content-Length` stated. The observation middleware reads the
 * length from the header (access-log `bytesOut`, HEAD's Content-Length) instead of buffering the
 * body again, and the Node adapter writes a byte body straight to the socket (issue 14: that
 * re-buffering was one of the largest per-request costs in the JWKS and lookup profiles).
 */
export function sizedBody(
  c: Context,
  text: string,
  status: number,
  headers: Record<string, string>,
): Response {
  const bytes = encoder.encode(text);
  return c.body(bytes, status as 200, { ...headers, "Content-Length": String(bytes.byteLength) });
}

export function json(c: Context, body: unknown, status = 200, headers?: Record<string, string>): Response {
  return sizedBody(c, JSON.stringify(body), status, { ...headers, "Content-Type": JSON_CONTENT_TYPE });
}
