/**
 * Admin user lifecycle routes (docs/spec/api.md §6.1 `/accounts/status`, §6.2 `/accounts/revoke`), both
 * `admin`. Shapes are parsed here; the rules live in src/services/user-admin.ts. Responses are
 * built field by field (a stored user carries its password hash).
 */
import { z } from "zod";
import { json } from "../json-response.ts";
import { adminCaller } from "../middleware/admin.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";
import { optional } from "../schemas.ts";
import { ADMIN_ERRORS } from "./tenants.ts";

const TAG = "accounts";

const email = optional(
  z.string().meta({
    description: "Email of an existing user (trimmed, case-insensitive); exactly one of email, localId",
  }),
);
const localId = optional(
  z.string().meta({ description: "localId of an existing user (exact); exactly one of email, localId" }),
);

const statusBody = z.object({
  email,
  localId,
  status: z.string().meta({ description: "ACTIVE, INACTIVE or SUSPENDED (case-insensitive)" }),
});
const revokeBody = z.object({
  email,
  localId,
  scope: optional(z.string().meta({ description: 'Absent, "" or "global"; anything else is refused' })),
  tenantId: optional(z.string().meta({ description: "Must be absent: only global revocation exists" })),
});

const statusSchema = z.object({
  localId: z.string(),
  email: z.string(),
  status: z.enum(["ACTIVE", "INACTIVE", "SUSPENDED"]),
});
const revokeSchema = z.object({
  localId: z.string(),
  email: z.string(),
  tokenVersion: z.number().meta({ type: "integer" }),
  revokedAt: z.string().meta({ description: "Server time, RFC 3339 UTC; not stored" }),
});

export function adminAccountRoutes(ctx: RouteContext): RouteSpec[] {
  const users = ctx.services.userAdmin;
  return [
    defineRoute({
      method: "POST",
      path: "/accounts/status",
      auth: "admin",
      tag: TAG,
      summary: "Set a user's status; SUSPENDED and INACTIVE revoke every token",
      body: statusBody,
      success: { schema: statusSchema },
      errors: ["INVALID_ARGUMENT", "USER_NOT_FOUND", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const { user } = await users.setStatus(adminCaller(c), body);
        return json(c, { localId: user.localId, email: user.email, status: user.status });
      },
    }),
    defineRoute({
      method: "POST",
      path: "/accounts/revoke",
      auth: "admin",
      tag: TAG,
      summary: "Revoke every token of a user (global scope only)",
      body: revokeBody,
      success: { schema: revokeSchema },
      errors: [
        "INVALID_ARGUMENT",
        "UNSUPPORTED_REVOCATION_SCOPE",
        "USER_NOT_FOUND",
        "CONCURRENT_UPDATE",
        ...ADMIN_ERRORS,
      ],
      handler: async (c, { body }) => {
        const { user, revokedAt } = await users.revoke(adminCaller(c), body);
        return json(c, {
          localId: user.localId,
          email: user.email,
          tokenVersion: user.tokenVersion,
          revokedAt,
        });
      },
    }),
  ];
}
