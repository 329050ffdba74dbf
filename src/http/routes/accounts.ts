/**
 * Account routes (docs/spec/api.md §4): parse with zod, call src/services/accounts.ts, shape the reply.
 * Every business rule lives in the service; this file owns only HTTP concerns: auth kinds, the
 * sign-up policy guard and headers. `tikti_auth_fail_total` is counted from the answer by the observation
 * middleware (src/http/middleware/observe.ts), like every route's.
 */
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { HonoEnv } from "../../deps.ts";
import { type ErrorCode, TiktiError } from "../../errors.ts";
import { type RequestContext, signUpRoleNeedsAdminBearer } from "../../services/accounts.ts";
import { json } from "../json-response.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";
import { optional, returnSecureToken } from "../schemas.ts";

const TAG = "accounts";

/** docs/spec/api.md §4.6, §4.9: the code is returned to the caller, who delivers it. */
const OOB_HEADERS = {
  "Cache-Control": "no-store",
  Pragma: "no-cache",
  "X-Tikti-OOB-Delivery": "external-required",
};

// ------------------------------------------------------------------ request bodies

// Shapes only: the rules (grammars, password policy, request types) are the service's, so the
// CLI-facing routes and migrations get the same answers; `meta` documents them in /openapi.json.
const email = z.string().meta({ description: "Trimmed and lower-cased (docs/spec/storage.md §5)" });
const newEmail = z.string().meta({
  description:
    "Trimmed and lower-cased; 3-254 chars, one @, a dotted domain, no whitespace, control or format (Cf) characters (docs/spec/api.md §2.10)",
});
const newPassword = z.string().meta({
  description:
    'Not trimmed; accounts.passwordMinLength (8)-128 code points, not the email or its local part (case-insensitive), not a common password ("too common"); <= 72 UTF-8 bytes with bcrypt',
});
const password = z.string().meta({ description: "As sent (never trimmed)" });
const idToken = z.string().meta({ description: "An idToken (HS256) from a sign-in" });
const requestType = z.string().meta({ description: "PASSWORD_RESET or EMAIL_SIGNIN (case-insensitive)" });
const oobCode = z.string().meta({ description: "The code returned by sendOobCode (trimmed)" });

const signUpBody = z.object({
  email: newEmail,
  password: newPassword,
  role: optional(
    z.string().meta({
      description:
        "ADMIN | COMPANY_ADMIN | COMPANY_EMPLOYEE (default); honoured only for privileged callers; with admin.requireAdminToken, a role other than COMPANY_EMPLOYEE needs an admin bearer",
    }),
  ),
  returnSecureToken,
});
const passwordSignInBody = z.object({ email, password, returnSecureToken });
const idTokenBody = z.object({ idToken });
const updateBody = z.object({
  idToken,
  email: optional(newEmail),
  password: optional(newPassword),
  returnSecureToken,
});
const sendOobBody = z.object({ requestType, email });
const oobSignInBody = z.object({ email, oobCode, returnSecureToken });
const resetPasswordBody = z.object({ oobCode, newPassword });

// ------------------------------------------------------------------ responses (documentation)

const refreshToken = z
  .string()
  .optional()
  .meta({ description: "When tokens.refresh.enabled: a refresh token for POST /accounts/token" });
const signInResponse = z.object({
  idToken: z.string(),
  email: z.string(),
  localId: z.string(),
  expiresIn: z.number().int(),
  refreshToken,
});
const signUpResponse = z.object({
  localId: z.string(),
  email: z.string(),
  createdAt: z.string(),
  idToken: z.string(),
  expiresIn: z.number().int(),
  refreshToken,
});
const lookupResponse = z.object({
  users: z.array(
    z.object({
      localId: z.string(),
      email: z.string(),
      role: z.string().optional(),
      status: z.string().optional(),
      tenantId: z.string().optional(),
    }),
  ),
});
const updateResponse = z.object({
  localId: z.string(),
  email: z.string(),
  idToken: z.string(),
  expiresIn: z.number().int(),
  refreshToken,
});
const kindResponse = (kind: string) => z.object({ kind: z.literal(kind) });
const sendOobResponse = z.object({
  kind: z.literal("identitytoolkit#GetOobConfirmationCodeResponse"),
  email: z.string(),
  oobCode: z.string(),
});
const tenantOobResponse = z.object({
  kind: z.literal("tikti#SendOobResponse"),
  email: z.string(),
  requestType: z.enum(["PASSWORD_RESET", "EMAIL_SIGNIN"]),
  expiresIn: z.number().int(),
  oobCode: z.string(),
});

// ------------------------------------------------------------------ helpers

function requestContext(c: Context<HonoEnv>): RequestContext {
  return { clientIp: c.get("clientIp") ?? "", requestId: c.get("requestId") ?? "", log: c.get("log") };
}

/**
 * The sign-up policy (docs/spec/api.md §4.1), before the body is read. `actor` is set only for a privileged
 * caller: the API key (`open` with a valid key, `apiKey`), or the admin bearer (`admin`).
 */
function signUpPolicy(ctx: RouteContext): MiddlewareHandler<HonoEnv> {
  const mode = ctx.deps.config.accounts.signUp;
  return async (c, next) => {
    const key = await ctx.auth.apiKey(c);
    if (key === "invalid" || (mode !== "open" && key !== "valid")) throw new TiktiError("API_KEY_INVALID");
    if (mode === "admin") await ctx.auth.requireAdminBearer(c);
    else if (key === "valid") c.set("actor", "apiKey");
    await next();
  };
}

/** `POST /accounts/signUp` … `POST /tenants/:tenantId/oob/send` (docs/spec/api.md §4). */
export function accountRoutes(ctx: RouteContext): RouteSpec[] {
  const { accounts } = ctx.services;

  const signInErrors: ErrorCode[] = [
    "INVALID_ARGUMENT",
    "INVALID_CREDENTIALS",
    "RATE_LIMITED",
    "STORE_UNAVAILABLE",
  ];
  const signInRoute = (path: string, auth: "public" | "key", summary: string) =>
    defineRoute({
      method: "POST",
      path,
      auth,
      tag: TAG,
      summary,
      body: passwordSignInBody,
      success: { schema: signInResponse, description: 'An idToken with `amr: ["pwd"]`' },
      errors: signInErrors,
      handler: async (c, { body }) =>
        json(
          c,
          await accounts.signInWithPassword(
            { email: body.email, password: body.password },
            requestContext(c),
          ),
        ),
    });

  return [
    defineRoute({
      method: "POST",
      path: "/accounts/signUp",
      auth: "policy",
      guard: signUpPolicy(ctx),
      tag: TAG,
      summary: "Create a password user (open, API key or admin, per accounts.signUp)",
      body: signUpBody,
      success: { schema: signUpResponse, description: 'The new user and an idToken with `amr: ["pwd"]`' },
      errors: [
        "INVALID_ARGUMENT",
        "API_KEY_INVALID",
        "ADMIN_AUTH_REQUIRED",
        "INVALID_TOKEN",
        "ADMIN_REQUIRED",
        "FEDERATED_TOKEN_NOT_ALLOWED",
        "EMAIL_EXISTS",
        "RATE_LIMITED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        // docs/spec/api.md §4.1: with admin.requireAdminToken, a role above COMPANY_EMPLOYEE needs a valid
        // admin bearer (it then becomes the actor); the API key alone is not enough.
        const requireAdminToken = ctx.deps.config.admin.requireAdminToken;
        if (c.get("actor") === "apiKey" && signUpRoleNeedsAdminBearer(requireAdminToken, body.role)) {
          await ctx.auth.requireAdminBearer(c);
        }
        return json(
          c,
          await accounts.signUp(
            {
              email: body.email,
              password: body.password,
              role: body.role,
              privilegedActor: c.get("actor"),
            },
            requestContext(c),
          ),
        );
      },
    }),
    signInRoute("/accounts/signIn", "public", "Password sign-in"),
    signInRoute("/accounts/signInWithPassword", "key", "Password sign-in (API key variant)"),
    defineRoute({
      method: "POST",
      path: "/accounts/lookup",
      auth: "key",
      tag: TAG,
      summary: "The user of an idToken",
      body: idTokenBody,
      success: { schema: lookupResponse },
      errors: ["INVALID_TOKEN", "USER_NOT_FOUND", "STORE_UNAVAILABLE"],
      handler: async (c, { body }) => json(c, { users: [await accounts.lookup(body.idToken)] }),
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/update",
      auth: "key",
      tag: TAG,
      summary: "Change the email and/or password of the idToken's user; returns a new idToken",
      body: updateBody,
      success: { schema: updateResponse },
      errors: [
        "INVALID_ARGUMENT",
        "INVALID_TOKEN",
        "FEDERATED_TOKEN_NOT_ALLOWED",
        "USER_NOT_FOUND",
        "EMAIL_EXISTS",
        "CONCURRENT_UPDATE",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) =>
        json(
          c,
          await accounts.update(
            { idToken: body.idToken, email: body.email, password: body.password },
            requestContext(c),
          ),
        ),
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/delete",
      auth: "key",
      tag: TAG,
      summary: "Delete the idToken's user, its email index entry and its memberships",
      body: idTokenBody,
      success: { schema: kindResponse("identitytoolkit#DeleteAccountResponse") },
      errors: [
        "INVALID_ARGUMENT",
        "INVALID_TOKEN",
        "FEDERATED_TOKEN_NOT_ALLOWED",
        "USER_NOT_FOUND",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        await accounts.deleteAccount(body.idToken, requestContext(c));
        return json(c, { kind: "identitytoolkit#DeleteAccountResponse" });
      },
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/sendOobCode",
      auth: "key",
      tag: TAG,
      summary: "Issue a PASSWORD_RESET or EMAIL_SIGNIN code; the caller delivers it",
      body: sendOobBody,
      success: { schema: sendOobResponse, description: "Header `X-Tikti-OOB-Delivery: external-required`" },
      errors: ["INVALID_ARGUMENT", "USER_NOT_FOUND", "RATE_LIMITED", "STORE_UNAVAILABLE"],
      handler: async (c, { body }) => {
        const sent = await accounts.sendOobCode(body, requestContext(c));
        return json(
          c,
          {
            kind: "identitytoolkit#GetOobConfirmationCodeResponse",
            email: sent.email,
            oobCode: sent.oobCode,
          },
          200,
          OOB_HEADERS,
        );
      },
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/signInWithOobCode",
      auth: "public",
      tag: TAG,
      summary: "Sign in with an EMAIL_SIGNIN code",
      body: oobSignInBody,
      success: { schema: signInResponse, description: 'An idToken with `amr: ["oob"]`' },
      errors: [
        "INVALID_ARGUMENT",
        "INVALID_OOB_CODE",
        "INVALID_CREDENTIALS",
        "RATE_LIMITED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) =>
        json(
          c,
          await accounts.signInWithOobCode({ email: body.email, oobCode: body.oobCode }, requestContext(c)),
        ),
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/resetPassword",
      auth: "key",
      tag: TAG,
      summary: "Set a new password with a PASSWORD_RESET code",
      body: resetPasswordBody,
      success: { schema: kindResponse("identitytoolkit#SetAccountPasswordResponse") },
      errors: [
        "INVALID_ARGUMENT",
        "INVALID_OOB_CODE",
        "USER_NOT_FOUND",
        "CONCURRENT_UPDATE",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        await accounts.resetPassword(body, requestContext(c));
        return json(c, { kind: "identitytoolkit#SetAccountPasswordResponse" });
      },
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/oob/send",
      auth: "key",
      tag: TAG,
      summary: "Issue a code for a member of the tenant (EMAIL_SIGNIN creates unknown users)",
      body: sendOobBody,
      success: { schema: tenantOobResponse, description: "Header `X-Tikti-OOB-Delivery: external-required`" },
      errors: [
        "INVALID_ARGUMENT",
        "INVALID_TENANT",
        "ACCOUNT_DISABLED",
        "TENANT_ACCESS_DENIED",
        "USER_NOT_FOUND",
        "TENANT_NOT_FOUND",
        "RATE_LIMITED",
        "STORE_UNAVAILABLE",
      ],
      handler: async (c, { body }) => {
        const sent = await accounts.sendTenantOobCode(
          { tenantId: c.req.param("tenantId") ?? "", requestType: body.requestType, email: body.email },
          requestContext(c),
        );
        return json(
          c,
          {
            kind: "tikti#SendOobResponse",
            email: sent.email,
            requestType: sent.requestType,
            expiresIn: sent.expiresIn,
            oobCode: sent.oobCode,
          },
          200,
          OOB_HEADERS,
        );
      },
    }),
  ];
}
