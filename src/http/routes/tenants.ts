/**
 * Tenant administration routes (docs/spec/api.md §7 tenants, §8 memberships, §9 roles, §10 clients),
 * all `admin`. Bodies and queries are parsed for shape here (wrong types → `INVALID_REQUEST`); the
 * rules (§2.10 grammars, limits, defaults, `INVALID_TENANT` for a malformed path tenant id) live in
 * src/services/tenancy.ts. The `meta` of each field documents those rules in /openapi.json.
 *
 * Responses are built field by field: stored entities carry `raw` and secrets (`secretHash`,
 * passwords, token versions) that must never leave the service.
 *
 * Route order matters where paths overlap: `GET /tenants/id/:tenantId` is mounted before
 * `GET /tenants/:tenantId/{users,roles,clients}`, so `/tenants/id/users` reads tenant `users`
 * (the tenant id `id` is reserved, docs/spec/api.md §1).
 */
import type { Context } from "hono";
import { z } from "zod";
import type { HonoEnv } from "../../deps.ts";
import {
  CLIENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  NEW_TENANT_ID_PATTERN,
  ROLE_NAME_PATTERN,
  SCOPE_PATTERN,
} from "../../domain/grammar.ts";
import type { Client, Role, Tenant } from "../../domain/types.ts";
import type { ErrorCode } from "../../errors.ts";
import { oauthClientIdOf } from "../../services/oauth/client-auth.ts";
import {
  CLIENT_GRANT_TYPES,
  CLIENT_LIST_MAX,
  CLIENT_ROLES_MAX,
  CLIENT_TTL_MAX_SECONDS,
  CLIENT_TTL_MIN_SECONDS,
  MEMBERSHIP_ROLES_MAX,
  PREVIOUS_SECRET_TTL_MAX_SECONDS,
  ROLE_PERMISSIONS_MAX,
  TENANT_NAME_MAX,
} from "../../services/tenancy.ts";
import {
  checkPageSize,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type PageRequest,
} from "../../store/repos/paging.ts";
import { json } from "../json-response.ts";
import { adminCaller } from "../middleware/admin.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";
import { optional } from "../schemas.ts";

/** Failures every admin route can answer besides its own (docs/spec/api.md §2.3, §2.9). */
export const ADMIN_ERRORS = [
  "ADMIN_AUTH_REQUIRED",
  "INVALID_TOKEN",
  "FEDERATED_TOKEN_NOT_ALLOWED",
  "ADMIN_REQUIRED",
  "STORE_UNAVAILABLE",
] as const satisfies readonly ErrorCode[];

const TAG = "tenants";

// ------------------------------------------------------------------ field schemas (shape + docs)

const newTenantId = z.string().meta({
  pattern: NEW_TENANT_ID_PATTERN.source,
  description: 'New tenant id (DNS-label shaped, not "id"); default a UUID v4',
});
const slug = z
  .string()
  .meta({ pattern: NEW_TENANT_ID_PATTERN.source, description: "Same grammar as a tenant id" });
const tenantName = z.string().meta({ description: `Trimmed, then 1-${TENANT_NAME_MAX} characters` });
const email = optional(
  z.string().meta({
    description: "Email of an existing user (trimmed, case-insensitive); exactly one of email, localId",
  }),
);
const localId = optional(
  z.string().meta({ description: "localId of an existing user (exact); exactly one of email, localId" }),
);
const roleName = z.string().meta({ pattern: ROLE_NAME_PATTERN.source });
const scope = z.string().meta({ pattern: SCOPE_PATTERN.source });

const pageQuery = z.object({
  pageSize: optional(
    z.string().meta({
      pattern: "^[0-9]+$",
      description: `1-${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}`,
    }),
  ),
  pageToken: optional(z.string().meta({ description: "Opaque token from the previous page" })),
});

// ------------------------------------------------------------------ request bodies

const createTenantBody = z.object({ name: tenantName, slug, id: optional(newTenantId) });
const tenantStatusBody = z.object({
  status: z.string().meta({ description: "ACTIVE or DISABLED (case-insensitive)" }),
});
const membershipBody = z.object({
  email,
  localId,
  roles: optional(
    z.array(roleName).meta({ maxItems: MEMBERSHIP_ROLES_MAX, description: "Default []; duplicates dropped" }),
  ),
});
const membershipRemoveBody = z.object({ email, localId });
const roleBody = z.object({
  name: roleName.meta({
    pattern: ROLE_NAME_PATTERN.source,
    description: "ADMIN and COMPANY_ADMIN are refused (global roles)",
  }),
  permissions: z.array(scope).meta({
    maxItems: ROLE_PERMISSIONS_MAX,
    description: "De-duplicated keeping first occurrences",
  }),
});
const jwksBody = z.unknown().meta({
  type: "object",
  description:
    'Public JWK set {"keys": [...]} for private_key_jwt: RSA >= 2048 bits, EC P-256 or Ed25519, unique kid, at most 10 keys',
});
const clientFields = {
  type: optional(
    z.string().meta({ description: "CONFIDENTIAL, PUBLIC or SERVICE (case-insensitive); default SERVICE" }),
  ),
  allowedGrantTypes: optional(
    z
      .array(z.string().meta({ enum: [...CLIENT_GRANT_TYPES] }))
      .meta({ description: 'Default ["token_exchange"]' }),
  ),
  defaultScopes: optional(
    z.array(scope).meta({ maxItems: CLIENT_LIST_MAX, description: "Default scopes and scope ceiling" }),
  ),
  allowedEventTypes: optional(
    z
      .array(z.string().meta({ pattern: EVENT_TYPE_PATTERN.source }))
      .meta({ maxItems: CLIENT_LIST_MAX, description: "When set, ceiling for eventTypes" }),
  ),
  maxTtlSeconds: optional(
    z.number().meta({ type: "integer", minimum: CLIENT_TTL_MIN_SECONDS, maximum: CLIENT_TTL_MAX_SECONDS }),
  ),
  roles: optional(
    z.array(z.string().meta({ pattern: ROLE_NAME_PATTERN.source })).meta({
      maxItems: CLIENT_ROLES_MAX,
      description: "Tenant roles whose permissions the client holds itself",
    }),
  ),
};
const clientBody = z.object({
  clientId: z.string().meta({ pattern: CLIENT_ID_PATTERN.source }),
  ...clientFields,
  jwks: optional(jwksBody),
});
const clientPutBody = z.object({
  ...clientFields,
  status: optional(z.string().meta({ description: "ACTIVE or DISABLED (case-insensitive); default ACTIVE" })),
});
const clientSecretBody = z.object({
  previousSecretTtlSeconds: optional(
    z.number().meta({
      type: "integer",
      minimum: 0,
      maximum: PREVIOUS_SECRET_TTL_MAX_SECONDS,
      description: "How long the replaced secret keeps working (default 86400)",
    }),
  ),
});
const clientJwksBody = z.object({ keys: z.unknown().meta({ type: "array" }) }).loose();

// ------------------------------------------------------------------ response schemas and shapes

const tenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  status: z.enum(["ACTIVE", "DISABLED"]),
  createdAt: z.string(),
});
const tenantPageSchema = z.object({ tenants: z.array(tenantSchema), nextPageToken: z.string() });
const membershipSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  email: z.string(),
  roles: z.array(z.string()),
  createdAt: z.string(),
});
const membershipRemovedSchema = z.object({
  tenantId: z.string(),
  userId: z.string(),
  email: z.string(),
  removedAt: z.string(),
});
const memberPageSchema = z.object({
  users: z.array(
    z.object({
      id: z.string(),
      email: z.string(),
      roles: z.array(z.string()),
      status: z.string(),
      authSource: z.string(),
      createdAt: z.string(),
    }),
  ),
  nextPageToken: z.string(),
});
const roleSchema = z.object({
  name: z.string(),
  scope: z.literal("TENANT"),
  tenantId: z.string(),
  permissions: z.array(z.string()),
});
const clientSchema = z.object({
  clientId: z.string(),
  oauthClientId: z.string().meta({ description: "<tenantId>/<clientId>, the id at the OAuth endpoints" }),
  type: z.string(),
  status: z.enum(["ACTIVE", "DISABLED"]),
  allowedGrantTypes: z.array(z.string()),
  defaultScopes: z.array(z.string()),
  allowedEventTypes: z.array(z.string()).optional(),
  maxTtlSeconds: z.number().meta({ type: "integer" }).optional(),
  roles: z.array(z.string()).optional(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
});
const rotatedSecretSchema = z.object({
  oauthClientId: z.string(),
  secret: z.string().meta({ description: "43 characters of base64url; shown once" }),
});
const createdClientSchema = clientSchema.extend({
  secret: z.string().meta({ description: "43 characters of base64url; shown once, only its hash is stored" }),
});

function tenantBody(t: Tenant) {
  return { id: t.id, name: t.name, slug: t.slug, status: t.status, createdAt: t.createdAt };
}

function roleBodyOf(r: Role) {
  return { name: r.name, scope: r.scope, tenantId: r.tenantId, permissions: r.permissions };
}

/** docs/spec/api.md §10, §2.11.8: never `secretHash`; optional fields only when set. */
function clientBodyOf(client: Client) {
  return {
    clientId: client.clientId,
    oauthClientId: oauthClientIdOf(client.tenantId, client.clientId),
    type: client.type.toUpperCase(),
    status: client.status,
    allowedGrantTypes: client.allowedGrantTypes,
    defaultScopes: client.defaultScopes,
    ...(client.allowedEventTypes !== undefined ? { allowedEventTypes: client.allowedEventTypes } : {}),
    ...(client.maxTtlSeconds !== undefined ? { maxTtlSeconds: client.maxTtlSeconds } : {}),
    ...(client.roles !== undefined && client.roles.length > 0 ? { roles: client.roles } : {}),
    // Public keys only (private members are refused on input): safe to show to administrators.
    ...(client.jwks !== undefined ? { jwks: client.jwks } : {}),
  };
}

/** `pageSize` arrives as text: plain decimal digits only, then the range of the store layer. */
export function pageRequest(query: {
  pageSize?: string | undefined;
  pageToken?: string | undefined;
}): PageRequest {
  const { pageSize, pageToken } = query;
  if (pageSize === undefined || pageSize === "") return { pageToken };
  return {
    pageSize: checkPageSize(/^[0-9]{1,9}$/.test(pageSize) ? Number(pageSize) : Number.NaN),
    pageToken,
  };
}

export function tenantRoutes(ctx: RouteContext): RouteSpec[] {
  const { tenancy } = ctx.services;
  const tenantIdOf = (c: Context<HonoEnv>) => c.req.param("tenantId") ?? "";
  const PATH_TENANT = ["INVALID_TENANT", "TENANT_NOT_FOUND"] as const;

  const getTenant = (path: string) =>
    defineRoute({
      method: "GET",
      path,
      auth: "admin",
      tag: TAG,
      summary: "Read one tenant",
      success: { schema: tenantSchema },
      errors: [...PATH_TENANT, ...ADMIN_ERRORS],
      handler: async (c) => json(c, tenantBody(await tenancy.getTenant(tenantIdOf(c)))),
    });

  return [
    defineRoute({
      method: "POST",
      path: "/tenants",
      auth: "admin",
      tag: TAG,
      summary: "Create a tenant (status ACTIVE)",
      body: createTenantBody,
      success: { schema: tenantSchema },
      errors: ["INVALID_ARGUMENT", "TENANT_EXISTS", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const tenant = await tenancy.createTenant(adminCaller(c), body);
        return json(c, tenantBody(tenant));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/tenants",
      auth: "admin",
      tag: TAG,
      summary: "List tenants ordered by id, one page at a time",
      query: pageQuery,
      success: { schema: tenantPageSchema },
      errors: ["INVALID_ARGUMENT", ...ADMIN_ERRORS],
      handler: async (c, { query }) => {
        const page = await tenancy.listTenants(pageRequest(query));
        return json(c, { tenants: page.items.map(tenantBody), nextPageToken: page.nextPageToken });
      },
    }),
    // Before every `/tenants/:tenantId/<segment>` GET route: see the module comment.
    getTenant("/tenants/id/:tenantId"),
    getTenant("/tenants/:tenantId"),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/status",
      auth: "admin",
      tag: TAG,
      summary: "Set a tenant's status (ACTIVE or DISABLED)",
      body: tenantStatusBody,
      success: { schema: tenantSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const change = await tenancy.setTenantStatus(adminCaller(c), tenantIdOf(c), body.status);
        return json(c, tenantBody(change.after));
      },
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/users",
      auth: "admin",
      tag: TAG,
      summary: "Add a user to a tenant or replace its roles there",
      body: membershipBody,
      success: { schema: membershipSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "USER_NOT_FOUND", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const { membership, user } = await tenancy.putMembership(adminCaller(c), tenantIdOf(c), body);
        return json(c, {
          id: membership.id,
          tenantId: membership.tenantId,
          userId: membership.userId,
          email: user.email,
          roles: membership.roles,
          createdAt: membership.createdAt,
        });
      },
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/users/remove",
      auth: "admin",
      tag: TAG,
      summary: "Remove a user from a tenant (the user is kept, its tokens revoked)",
      body: membershipRemoveBody,
      success: { schema: membershipRemovedSchema },
      errors: [
        ...PATH_TENANT,
        "INVALID_ARGUMENT",
        "USER_NOT_FOUND",
        "MEMBERSHIP_NOT_FOUND",
        "CONCURRENT_UPDATE",
        ...ADMIN_ERRORS,
      ],
      handler: async (c, { body }) => {
        const tenantId = tenantIdOf(c);
        const removal = await tenancy.removeMembership(adminCaller(c), tenantId, body);
        return json(c, {
          tenantId,
          userId: removal.user.localId,
          email: removal.user.email,
          removedAt: removal.removedAt,
        });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/users",
      auth: "admin",
      tag: TAG,
      summary: "List a tenant's members ordered by user id, one page at a time",
      query: pageQuery,
      success: { schema: memberPageSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", ...ADMIN_ERRORS],
      handler: async (c, { query }) => {
        const page = await tenancy.listMembers(tenantIdOf(c), pageRequest(query));
        return json(c, {
          users: page.items.map(({ membership, user }) => ({
            id: user.localId,
            email: user.email,
            roles: membership.roles,
            status: user.status,
            authSource: user.authSource,
            createdAt: membership.createdAt,
          })),
          nextPageToken: page.nextPageToken,
        });
      },
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/roles",
      auth: "admin",
      tag: TAG,
      summary: "Create or replace a tenant role",
      body: roleBody,
      success: { schema: roleSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        return json(c, roleBodyOf(await tenancy.putRole(adminCaller(c), tenantIdOf(c), body)));
      },
    }),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/roles",
      auth: "admin",
      tag: TAG,
      summary: "List a tenant's roles sorted by name",
      success: { schema: z.array(roleSchema) },
      errors: [...PATH_TENANT, "INTERNAL", ...ADMIN_ERRORS],
      handler: async (c) => json(c, (await tenancy.listRoles(tenantIdOf(c))).map(roleBodyOf)),
    }),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/roles/:roleName",
      auth: "admin",
      tag: TAG,
      summary: "Read one tenant role",
      success: { schema: roleSchema },
      errors: [...PATH_TENANT, "ROLE_NOT_FOUND", "INTERNAL", ...ADMIN_ERRORS],
      handler: async (c) =>
        json(c, roleBodyOf(await tenancy.getRole(tenantIdOf(c), c.req.param("roleName") ?? ""))),
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/clients",
      auth: "admin",
      tag: TAG,
      summary: "Create a client (audience); its secret is returned once",
      body: clientBody,
      success: { schema: createdClientSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "CLIENT_EXISTS", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const { client, secret } = await tenancy.createClient(adminCaller(c), tenantIdOf(c), body);
        return json(c, { ...clientBodyOf(client), secret });
      },
    }),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/clients",
      auth: "admin",
      tag: TAG,
      summary: "List a tenant's clients sorted by client id (no secrets)",
      success: { schema: z.array(clientSchema) },
      errors: [...PATH_TENANT, "INTERNAL", ...ADMIN_ERRORS],
      handler: async (c) => json(c, (await tenancy.listClients(tenantIdOf(c))).map(clientBodyOf)),
    }),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/clients/:clientId",
      auth: "admin",
      tag: TAG,
      summary: "Read one client (no secret)",
      success: { schema: clientSchema },
      errors: [...PATH_TENANT, "CLIENT_NOT_FOUND", "INTERNAL", ...ADMIN_ERRORS],
      handler: async (c) =>
        json(c, clientBodyOf(await tenancy.getClient(tenantIdOf(c), c.req.param("clientId") ?? ""))),
    }),
    defineRoute({
      method: "PUT",
      path: "/tenants/:tenantId/clients/:clientId",
      auth: "admin",
      tag: TAG,
      summary: "Replace a client's settings and status (the secret, jwks and createdAt are kept)",
      body: clientPutBody,
      success: { schema: clientSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "CLIENT_NOT_FOUND", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const clientId = c.req.param("clientId") ?? "";
        const client = await tenancy.updateClient(adminCaller(c), tenantIdOf(c), clientId, body);
        return json(c, clientBodyOf(client));
      },
    }),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/clients/:clientId/secret",
      auth: "admin",
      tag: TAG,
      summary: "Rotate a client's secret; the new one is returned once, the old one works for a grace period",
      body: clientSecretBody,
      success: { schema: rotatedSecretSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "CLIENT_NOT_FOUND", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const tenantId = tenantIdOf(c);
        const clientId = c.req.param("clientId") ?? "";
        const { client, secret } = await tenancy.rotateClientSecret(
          adminCaller(c),
          tenantId,
          clientId,
          body.previousSecretTtlSeconds,
        );
        return json(c, { oauthClientId: oauthClientIdOf(tenantId, client.clientId), secret });
      },
    }),
    defineRoute({
      method: "PUT",
      path: "/tenants/:tenantId/clients/:clientId/jwks",
      auth: "admin",
      tag: TAG,
      summary: "Replace a client's public key set for private_key_jwt",
      body: clientJwksBody,
      success: { schema: clientSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "CLIENT_NOT_FOUND", "CONCURRENT_UPDATE", ...ADMIN_ERRORS],
      handler: async (c, { body }) => {
        const clientId = c.req.param("clientId") ?? "";
        const client = await tenancy.setClientJwks(adminCaller(c), tenantIdOf(c), clientId, body);
        return json(c, clientBodyOf(client));
      },
    }),
  ];
}
