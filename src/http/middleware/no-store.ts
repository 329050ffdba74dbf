import type { MiddlewareHandler } from "hono";
import type { HonoEnv } from "../../deps.ts";

/** `Cache-Control: no-store` + `Pragma: no-cache` on every response, errors included (docs/spec/api.md §2.5). */
export const noStore: MiddlewareHandler<HonoEnv> = async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
  c.res.headers.set("Pragma", "no-cache");
};
