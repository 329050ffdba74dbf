import type { Context, MiddlewareHandler } from "hono";
import type { HonoEnv } from "../../deps.ts";
import { TiktiError } from "../../errors.ts";
import type { AdminCaller } from "../../services/audit.ts";
import type { IdTokenVerifier } from "../../services/verify-id-token.ts";

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** Who called an admin route, for the service that audits the change (src/services/audit.ts). */
export function adminCaller(c: Context<HonoEnv>): AdminCaller {
  return { actor: c.get("actor") ?? "apiKey", requestId: c.get("requestId") };
}

/**
 * Admin routes (docs/spec/api.md §2.3): the API key, plus — when `admin.requireAdminToken` is on, or
 * `always` is set (signUp in `admin` mode) — an idToken bearer of a global ADMIN that did not come
 * from SAML. A valid bearer, even when optional, becomes the audit actor.
 */
export function adminGuard(options: {
  keyGuard: MiddlewareHandler<HonoEnv>;
  requireAdminToken: boolean;
  verifyIdToken: IdTokenVerifier;
}): { guard: MiddlewareHandler<HonoEnv>; requireBearer: MiddlewareHandler<HonoEnv> } {
  const checkBearer = async (header: string | undefined, required: boolean): Promise<string | null> => {
    if (header === undefined) {
      if (required) throw new TiktiError("ADMIN_AUTH_REQUIRED");
      return null;
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      if (required) throw new TiktiError("ADMIN_AUTH_REQUIRED");
      return null;
    }
    let verified: Awaited<ReturnType<IdTokenVerifier>>;
    try {
      verified = await options.verifyIdToken(token);
    } catch (e) {
      // An optional bearer that does not verify is ignored, never trusted; a required one fails.
      if (!required && e instanceof TiktiError && e.code === "INVALID_TOKEN") return null;
      throw e;
    }
    const isAdmin = !verified.saml && verified.user.role === "ADMIN";
    if (!required) return isAdmin ? `user:${verified.user.localId}` : null;
    if (verified.saml) throw new TiktiError("FEDERATED_TOKEN_NOT_ALLOWED");
    if (!isAdmin) throw new TiktiError("ADMIN_REQUIRED");
    return `user:${verified.user.localId}`;
  };

  const withBearer =
    (required: boolean): MiddlewareHandler<HonoEnv> =>
    async (c, next) => {
      const actor = await checkBearer(c.req.header("authorization"), required);
      c.set("actor", actor ?? "apiKey");
      await next();
    };

  const bearerStep = withBearer(options.requireAdminToken);
  return {
    guard: (c, next) =>
      options.keyGuard(c, async () => {
        await bearerStep(c, next);
      }),
    requireBearer: withBearer(true),
  };
}
