/**
 * SAML administration routes (docs/spec/api.md §11; docs/spec/saml.md §11, §13), all `admin`: IdP records
 * (with the Go-era alias `/admin/tenants/:tenantId/saml/idp`), refresh, domain mappings, the IdP
 * list and SP key rotation. They work whether or not `saml.enabled` is set, except rotation, which
 * answers `404 NOT_FOUND` then.
 *
 * Every change is audited (and IdP record changes counted) by src/services/saml-admin.ts, which gets
 * the caller from `adminCaller`.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { HonoEnv } from "../../deps.ts";
import type { ErrorCode } from "../../errors.ts";
import { IDP_BODY_LIMIT } from "../../services/saml-admin.ts";
import { json } from "../json-response.ts";
import { adminCaller } from "../middleware/admin.ts";
import { defineRoute, type RouteContext, type RouteSpec } from "../route.ts";
import { optional } from "../schemas.ts";

const TAG = "saml";

/** Failures every admin route can answer besides its own (docs/spec/api.md §2.3, §2.9). */
const ADMIN_ERRORS = [
  "ADMIN_AUTH_REQUIRED",
  "INVALID_TOKEN",
  "FEDERATED_TOKEN_NOT_ALLOWED",
  "ADMIN_REQUIRED",
  "STORE_UNAVAILABLE",
] as const satisfies readonly ErrorCode[];
const PATH_TENANT = ["INVALID_TENANT", "TENANT_NOT_FOUND"] as const satisfies readonly ErrorCode[];

const nameList = z.array(z.string());
const idpBody = z.object({
  metadataUrl: optional(
    z
      .string()
      .meta({ description: "https metadata URL (≤ 2048 chars); exactly one of metadataUrl/metadataXml" }),
  ),
  metadataXml: optional(
    z.string().meta({ description: "Inline metadata XML (≤ saml.idp.metadataMaxBytes)" }),
  ),
  attributeMap: optional(
    z.record(z.string(), nameList).meta({
      description:
        "Keys email, name, roles; ≤ 10 names each; absent → default map; tid/tenant_id/tenantId refused",
    }),
  ),
  roleMap: optional(
    z.record(z.string(), nameList).meta({
      description: "Asserted role value → 1-20 Tikti role names (not ADMIN/COMPANY_ADMIN); ≤ 200 entries",
    }),
  ),
  allowUnsolicited: optional(z.boolean()),
  forceAuthn: optional(z.boolean()),
  requireEncryptedAssertion: optional(z.boolean()),
  dropPreviousCertificates: optional(
    z.boolean().meta({ description: "PUT only: skip the certificate overlap window" }),
  ),
});
const rotationBody = z.object({
  action: z.string().meta({ enum: ["prepare", "commit", "abort"] }),
  force: optional(z.boolean().meta({ description: "commit before the grace period has elapsed" })),
});

const certSchema = z.object({
  sha256: z.string(),
  subject: z.string(),
  notAfter: z.string(),
  retireAfter: z.string().nullable(),
});
const projectionSchema = z.object({
  configured: z.boolean(),
  tenantId: z.string().optional(),
  entityId: z.string().optional(),
  ssoUrl: z.string().optional(),
  sloUrl: z.string().optional(),
  sloBinding: z.string().optional(),
  metadataUrl: z.string().optional(),
  nameIdFormat: z.string().optional(),
  attributeMap: z.record(z.string(), nameList).optional(),
  roleMap: z.record(z.string(), nameList).optional(),
  allowUnsolicited: z.boolean().optional(),
  forceAuthn: z.boolean().optional(),
  requireEncryptedAssertion: z.boolean().optional(),
  signingCertificates: z.array(certSchema).optional(),
  signingCertificateCount: z.number().optional(),
  encryptionCertificateCount: z.number().optional(),
  lastFetched: z.string().optional(),
  lastRefreshError: z.string().optional(),
  generation: z.string().optional(),
  loginUrl: z.string().optional(),
  unsolicitedAcsUrl: z.string().optional(),
});
const idpListSchema = z.object({
  idps: z.array(
    z.object({
      tenantId: z.string(),
      entityId: z.string(),
      metadataUrl: z.string(),
      lastFetched: z.string(),
      lastRefreshError: z.string(),
    }),
  ),
});
const domainsSchema = z.object({ domains: z.array(z.string()) });
const domainSchema = z.object({ domain: z.string(), tenantId: z.string() });
const rotationSchema = z.object({
  state: z.enum(["none", "prepared", "committed"]),
  currentSha256: z.string().optional(),
  nextSha256: z.string().optional(),
  preparedAt: z.string().optional(),
  commitNotBefore: z.string().optional(),
  committedAt: z.string().nullable().optional(),
  loaded: z.object({ current: z.string().nullable(), next: z.string().nullable() }),
});

export function samlAdminRoutes(ctx: RouteContext): RouteSpec[] {
  const { saml, samlAdmin: service } = ctx.services;
  const tenantIdOf = (c: Context<HonoEnv>) => c.req.param("tenantId") ?? "";

  /** POST (create only, 409 IDP_EXISTS) and PUT (create or replace) differ only in their mode. */
  const writeIdpRoute = (path: string, mode: "post" | "put", summary: string) =>
    defineRoute({
      method: mode === "post" ? "POST" : "PUT",
      path,
      auth: "admin",
      tag: TAG,
      summary,
      body: idpBody,
      bodyLimit: IDP_BODY_LIMIT,
      success: { schema: projectionSchema },
      errors: [
        ...PATH_TENANT,
        "INVALID_REQUEST",
        "INVALID_ARGUMENT",
        "INVALID_SAML_METADATA",
        ...(mode === "post" ? (["IDP_EXISTS"] as const) : []),
        ...ADMIN_ERRORS,
      ],
      handler: async (c, { body }) =>
        json(c, (await service.writeIdp(adminCaller(c), tenantIdOf(c), body, mode)).projection),
    });

  const idpRoutes = (path: string, alias: boolean): RouteSpec[] => {
    const note = alias ? " (Go-era alias)" : "";
    return [
      defineRoute({
        method: "GET",
        path,
        auth: "admin",
        tag: TAG,
        summary: `Read a tenant's IdP record${note}`,
        success: { schema: projectionSchema },
        errors: [...PATH_TENANT, "INTERNAL", ...ADMIN_ERRORS],
        handler: async (c) => json(c, await service.getIdp(tenantIdOf(c))),
      }),
      writeIdpRoute(path, "post", `Register a tenant's IdP from metadata (create only)${note}`),
      writeIdpRoute(path, "put", `Create or replace a tenant's IdP record${note}`),
      defineRoute({
        method: "DELETE",
        path,
        auth: "admin",
        tag: TAG,
        summary: `Remove a tenant's IdP record (domains, links and sessions are kept)${note}`,
        success: { status: 204, description: "Deleted" },
        errors: [...PATH_TENANT, "IDP_NOT_FOUND", ...ADMIN_ERRORS],
        handler: async (c) => {
          await service.deleteIdp(adminCaller(c), tenantIdOf(c));
          return c.body(null, 204);
        },
      }),
    ];
  };

  return [
    ...idpRoutes("/tenants/:tenantId/saml/idp", false),
    defineRoute({
      method: "POST",
      path: "/tenants/:tenantId/saml/idp/refresh",
      auth: "admin",
      tag: TAG,
      summary: "Fetch the IdP metadata URL now and update the record",
      success: { schema: projectionSchema },
      errors: [
        ...PATH_TENANT,
        "IDP_NOT_FOUND",
        "INVALID_SAML_METADATA",
        "CONCURRENT_UPDATE",
        "INTERNAL",
        ...ADMIN_ERRORS,
      ],
      handler: async (c) => json(c, (await service.refreshIdp(adminCaller(c), tenantIdOf(c))).projection),
    }),
    ...idpRoutes("/admin/tenants/:tenantId/saml/idp", true),
    defineRoute({
      method: "GET",
      path: "/tenants/:tenantId/saml/domains",
      auth: "admin",
      tag: TAG,
      summary: "List the email domains mapped to a tenant (discovery)",
      success: { schema: domainsSchema },
      errors: [...PATH_TENANT, ...ADMIN_ERRORS],
      handler: async (c) => json(c, { domains: await service.listDomains(tenantIdOf(c)) }),
    }),
    defineRoute({
      method: "PUT",
      path: "/tenants/:tenantId/saml/domains/:domain",
      auth: "admin",
      tag: TAG,
      summary: "Map an email domain to a tenant (idempotent)",
      success: { schema: domainSchema },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "DOMAIN_CONFLICT", ...ADMIN_ERRORS],
      handler: async (c) =>
        json(c, await service.putDomain(adminCaller(c), tenantIdOf(c), c.req.param("domain") ?? "")),
    }),
    defineRoute({
      method: "DELETE",
      path: "/tenants/:tenantId/saml/domains/:domain",
      auth: "admin",
      tag: TAG,
      summary: "Remove a tenant's email-domain mapping",
      success: { status: 204, description: "Deleted" },
      errors: [...PATH_TENANT, "INVALID_ARGUMENT", "DOMAIN_NOT_FOUND", ...ADMIN_ERRORS],
      handler: async (c) => {
        await service.deleteDomain(adminCaller(c), tenantIdOf(c), c.req.param("domain") ?? "");
        return c.body(null, 204);
      },
    }),
    defineRoute({
      method: "GET",
      path: "/admin/saml/idps",
      auth: "admin",
      tag: TAG,
      summary: "List every tenant's IdP record, sorted by tenant id",
      success: { schema: idpListSchema },
      errors: [...ADMIN_ERRORS],
      handler: async (c) => json(c, { idps: await service.listIdps() }),
    }),
    // SAML-only routes: not mounted at all when SAML is disabled, so every request is 404 NOT_FOUND.
    ...(saml.config.saml.enabled ? rotationRoutes() : []),
  ];

  function rotationRoutes(): RouteSpec[] {
    return [
      defineRoute({
        method: "GET",
        path: "/admin/saml/sp/rotation",
        auth: "admin",
        tag: TAG,
        summary: "SP key rotation state and the pairs loaded on this replica (404 when SAML is disabled)",
        success: { schema: rotationSchema },
        errors: ["NOT_FOUND", ...ADMIN_ERRORS],
        handler: async (c) => json(c, await service.rotationStatus()),
      }),
      defineRoute({
        method: "POST",
        path: "/admin/saml/sp/rotation",
        auth: "admin",
        tag: TAG,
        summary: "Prepare, commit or abort an SP key rotation (404 when SAML is disabled)",
        body: rotationBody,
        success: { schema: rotationSchema },
        errors: [
          "NOT_FOUND",
          "INVALID_ARGUMENT",
          "ROTATION_STATE_CONFLICT",
          "CONCURRENT_UPDATE",
          ...ADMIN_ERRORS,
        ],
        handler: async (c, { body }) =>
          json(c, await service.rotate(adminCaller(c), body.action, body.force ?? false)),
      }),
    ];
  }
}
