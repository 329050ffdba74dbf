/** JSON responses with the media type of docs/spec/api.md §2.5 (`application/json; charset=utf-8`). */
import type { Context } from "hono";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function json(c: Context, body: unknown, status = 200, headers?: Record<string, string>): Response {
  return c.body(JSON.stringify(body), status as 200, { ...headers, "Content-Type": JSON_CONTENT_TYPE });
}
