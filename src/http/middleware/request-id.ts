import type { MiddlewareHandler } from "hono";
import type { AppDeps, HonoEnv } from "../../deps.ts";
import { uuidv7 } from "../../ids.ts";

const VALID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming X-Request-ID, else makes a UUIDv7 (docs/spec/api.md §2.7). */
export function requestId(deps: AppDeps): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming !== undefined && VALID.test(incoming) ? incoming : uuidv7(deps.clock.now());
    c.set("requestId", id);
    c.set("log", deps.logger.child({ requestId: id }));
    await next();
    c.res.headers.set("X-Request-ID", id);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
  };
}
