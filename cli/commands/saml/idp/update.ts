import { command } from "../../../command.ts";
import { usage } from "../../../errors.ts";
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
import { mapArgs, metadataArgs } from "./register.ts";

/**
 * docs/spec/cli.md §5.6 `saml idp update`: reads the record, merges the given flags and sends a full `PUT`
 * (docs/spec/saml.md §11.2: PUT replaces, omitted fields take defaults). Without a metadata flag it is a
 * settings-only PUT: endpoints and certificates are kept. Invalid metadata leaves the record as it was.
 */
export default command({
  description: "Change a tenant's IdP: new metadata and/or settings; unspecified settings are kept",
  args: {
    ...tidArg,
    ...metadataArgs,
    ...mapArgs,
    "allow-unsolicited": { type: "boolean", description: "--allow-unsolicited=<true|false>" },
    "force-authn": { type: "boolean", description: "--force-authn=<true|false>" },
    "require-encrypted": { type: "boolean", description: "--require-encrypted=<true|false>" },
    "drop-previous-certs": {
      type: "boolean",
      description: "with new metadata: stop trusting the old signing certificates now (no overlap)",
    },
  },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const metadata = await metadataSource(args, true);
    const attributeMap =
      args["attr-map"] !== undefined ? await readJsonObject(args["attr-map"], "--attr-map") : undefined;
    const roleMap =
      args["role-map"] !== undefined ? await readJsonObject(args["role-map"], "--role-map") : undefined;
    const http = await ctx.http();
    const path = `/tenants/${seg(tid)}/saml/idp`;
    const current = await http.send<IdpProjection>({ method: "GET", path, auth: "admin" });
    if (!current.configured) {
      throw usage(`no IdP registered for tenant "${tid}" (use "saml idp register")`);
    }
    const body: Record<string, unknown> = {
      ...metadata,
      attributeMap: attributeMap ?? current.attributeMap ?? null,
      roleMap: roleMap ?? current.roleMap ?? {},
      allowUnsolicited: args["allow-unsolicited"] ?? current.allowUnsolicited ?? false,
      forceAuthn: args["force-authn"] ?? current.forceAuthn ?? false,
      requireEncryptedAssertion: args["require-encrypted"] ?? current.requireEncryptedAssertion ?? false,
    };
    if (args["drop-previous-certs"]) body.dropPreviousCertificates = true;
    const projection = await http.send<IdpProjection>({ method: "PUT", path, auth: "admin", body });
    return result(projection, idpPretty(projection, tid));
  },
});
