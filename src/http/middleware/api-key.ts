import type { MiddlewareHandler } from "hono";
import { type Sha256Sync, secretMatcher } from "../../crypto/compare.ts";
import type { HonoEnv } from "../../deps.ts";
import { TiktiError } from "../../errors.ts";

export type ApiKeyState = "absent" | "valid" | "invalid";

/**
 * Reads the API key from `X-API-Key` or `?key=` (docs/spec/api.md §2.2). Duplicates of either form, or
 * both forms with different values, are invalid. Comparison is constant-time over SHA-256 digests.
 */
export function apiKeyReader(
  configuredKey: string,
  sha256Sync?: Sha256Sync,
): (c: Parameters<MiddlewareHandler<HonoEnv>>[0]) => Promise<ApiKeyState> {
  const matches = secretMatcher(configuredKey, sha256Sync);
  return async (c) => {
    const header = c.req.raw.headers.get("x-api-key");
    const queries = c.req.queries("key") ?? [];
    if (queries.length > 1) return "invalid";
    const query = queries[0];
    if (header === null && query === undefined) return "absent";
    if (header !== null && query !== undefined && header !== query) return "invalid";
    const candidate = header ?? query ?? "";
    // A repeated header arrives joined with ", "; it can only match if the key itself contains
    // that sequence, which generated keys never do.
    return (await matches(candidate)) ? "valid" : "invalid";
  };
}

/** Route guard: the request must carry the valid API key. Runs before the body is read. */
export function requireApiKey(read: ReturnType<typeof apiKeyReader>): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    if ((await read(c)) !== "valid") throw new TiktiError("API_KEY_INVALID");
    await next();
  };
}
