/**
 * Declarative routes. Every JSON route is one `RouteSpec`: method, path, auth, the zod schemas of
 * its body and query, its success and error responses, and the handler. The same spec mounts the
 * route on Hono (with the checks of docs/spec/api.md §2.11.6 in order) and feeds the OpenAPI document
 * (src/http/openapi.ts), so the documentation cannot drift from the validation.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { AppDeps, HonoEnv } from "../deps.ts";
import type { ErrorCode } from "../errors.ts";
import type { Services } from "../services/index.ts";
import type { OAuthErrorCode } from "../services/oauth/errors.ts";
import { readJsonObject } from "./json-body.ts";
import { parseOrThrow } from "./validate.ts";

/**
 * - `public`: no credentials (a present API key is ignored);
 * - `key`: API key (docs/spec/api.md §2.2);
 * - `admin`: API key, plus the admin bearer when `admin.requireAdminToken` (docs/spec/api.md §2.3);
 * - `policy`: the handler decides (e.g. signUp, docs/spec/api.md §4.1);
 * - `client`: an OAuth client authenticates itself (docs/spec/oauth.md §2); the handler runs it.
 */
export type RouteAuth = "public" | "key" | "admin" | "policy" | "client";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<B, Q> {
  body: Out<B>;
  query: Out<Q>;
}

export interface RouteSpec<
  B extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
> {
  method: HttpMethod;
  /** Hono path syntax (`/tenants/:tenantId`), without the `/v1` prefix. */
  path: string;
  auth: RouteAuth;
  /**
   * Runs after the auth kind's guard and before the body is read, so that a `policy` route
   * authenticates in the order of docs/spec/api.md §2.11.6 (API key 401 before 415/413/400).
   */
  guard?: MiddlewareHandler<HonoEnv>;
  /** One line for the OpenAPI summary. */
  summary: string;
  /** OpenAPI tag (e.g. "accounts", "tenants"). */
  tag: string;
  /** Zod schema of the JSON body; when set, the body is required and parsed strictly. */
  body?: B;
  /** Zod schema of the query parameters (single values). */
  query?: Q;
  /** Body size limit in bytes (default 64 KiB). */
  bodyLimit?: number;
  /** Success status (default 200) and the zod schema of its body, for the documentation. */
  success?: { status?: number; schema?: Schema; description?: string };
  /** Error codes this route documents (the catalogue gives status and message). */
  errors: readonly ErrorCode[];
  /**
   * OAuth routes (docs/spec/oauth.md): the form parameters (read by the handler, documented as an
   * `application/x-www-form-urlencoded` body) and the RFC 6749 §5.2 errors with their statuses.
   */
  oauth?: { form: Schema; errors: ReadonlyArray<readonly [OAuthErrorCode, number]> };
  handler: (c: Context<HonoEnv>, input: RouteInput<B, Q>) => Response | Promise<Response>;
}

/** Helper that keeps the generic parameters of one spec inferred. */
export function defineRoute<
  B extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
>(spec: RouteSpec<B, Q>): RouteSpec<B, Q> {
  return spec;
}

/** Middleware per auth kind, provided by createApp. `policy` and `public` routes get none. */
export type AuthGuards = Record<"key" | "admin", MiddlewareHandler<HonoEnv>>;

/** What a route group receives: `(ctx: RouteContext) => RouteSpec[]` in src/http/routes/<group>.ts. */
export interface RouteContext {
  deps: AppDeps;
  services: Services;
  /** For `policy` routes that decide themselves (signUp, docs/spec/api.md §4.1). */
  auth: {
    /** API key state of this request: absent, valid, or invalid (present but wrong/duplicated). */
    apiKey(c: Context<HonoEnv>): Promise<"absent" | "valid" | "invalid">;
    /** Runs the required admin bearer check (docs/spec/api.md §2.3) and sets `actor`; throws on failure. */
    requireAdminBearer(c: Context<HonoEnv>): Promise<void>;
  };
}

/** Mounts the specs on `app` (order of checks: docs/spec/api.md §2.11.6). */
export function mountRoutes(app: Hono<HonoEnv>, specs: readonly RouteSpec[], guards: AuthGuards): void {
  for (const spec of specs) {
    const chain: MiddlewareHandler<HonoEnv>[] = [];
    if (spec.auth === "key" || spec.auth === "admin") chain.push(guards[spec.auth]);
    if (spec.guard) chain.push(spec.guard);
    const handler: MiddlewareHandler<HonoEnv> = async (c) => {
      const body = spec.body
        ? parseOrThrow(spec.body, await readJsonObject(c, spec.bodyLimit ? { limit: spec.bodyLimit } : {}))
        : undefined;
      const query = spec.query ? parseOrThrow(spec.query, c.req.query()) : undefined;
      return spec.handler(c, { body, query } as RouteInput<typeof spec.body, typeof spec.query>);
    };
    app.on([spec.method], [spec.path], ...chain, handler);
  }
}

export { json } from "./json-response.ts";
