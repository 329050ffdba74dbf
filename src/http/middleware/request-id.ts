import type { MiddlewareHandler } from "hono";
import type { AppDeps, HonoEnv } from "../../deps.ts";

const VALID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming X-Request-ID, else makes a UUIDv7 (api.md §2.7). */
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

/** RFC 9562 UUID version 7: 48-bit ms timestamp, then random bits. */
export function uuidv7(nowMs: number): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
