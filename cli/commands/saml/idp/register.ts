import { command } from "../../../command.ts";
import { HttpError } from "../../../errors.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import {
  type IdpProjection,
  idpPretty,
  metadataSource,
  readJsonObject,
  samlTenant,
  tidArg,
} from "../shared.ts";

export const metadataArgs = {
  "metadata-url": {
    type: "string",
    valueHint: "url",
    description: "the IdP's metadata URL (https; fetched by the server now and on refresh)",
  },
  "metadata-file": {
    type: "string",
    valueHint: "file",
    description: "a metadata XML file (sent inline as metadataXml; never refreshed)",
  },
} as const;

export const mapArgs = {
  "attr-map": {
    type: "string",
    valueHint: "file",
    description: 'JSON attribute map, e.g. {"email": ["mail"], "name": ["displayName"], "roles": ["groups"]}',
  },
  "role-map": {
    type: "string",
    valueHint: "file",
    description: 'JSON role map: asserted value -> Tikti roles, e.g. {"eng": ["COMPANY_EMPLOYEE"]}',
  },
} as const;

/** docs/spec/cli.md §5.6 `saml idp register`: `POST /tenants/{tid}/saml/idp` (create only; docs/spec/saml.md §11.2). */
export default command({
  description: "Register a tenant's IdP from its metadata (fails if one is registered)",
  args: {
    ...tidArg,
    ...metadataArgs,
    ...mapArgs,
    "allow-unsolicited": { type: "boolean", description: "accept IdP-initiated logins on {acsURL}/{tid}" },
    "force-authn": { type: "boolean", description: "ask the IdP to re-authenticate on every login" },
    "require-encrypted": { type: "boolean", description: "refuse plaintext assertions from this IdP" },
  },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const body: Record<string, unknown> = { ...(await metadataSource(args, false)) };
    if (args["attr-map"] !== undefined)
      body.attributeMap = await readJsonObject(args["attr-map"], "--attr-map");
    if (args["role-map"] !== undefined) body.roleMap = await readJsonObject(args["role-map"], "--role-map");
    if (args["allow-unsolicited"] !== undefined) body.allowUnsolicited = args["allow-unsolicited"];
    if (args["force-authn"] !== undefined) body.forceAuthn = args["force-authn"];
    if (args["require-encrypted"] !== undefined) body.requireEncryptedAssertion = args["require-encrypted"];
    const http = await ctx.http();
    try {
      const projection = await http.send<IdpProjection>({
        method: "POST",
        path: `/tenants/${seg(tid)}/saml/idp`,
        auth: "admin",
        body,
      });
      return result(projection, idpPretty(projection, tid));
    } catch (e) {
      if (e instanceof HttpError && e.code === "IDP_EXISTS") {
        throw new HttpError({
          status: e.status,
          error: `IdP already registered for tenant "${tid}" (use "saml idp update")`,
          code: e.code,
          requestId: e.requestId,
        });
      }
      throw e;
    }
  },
});
