import { command } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { type IdpProjection, idpPretty, samlTenant, tidArg } from "../shared.ts";

/** docs/spec/cli.md §5.6 `saml idp show`: `GET /tenants/{tid}/saml/idp` (fingerprints, never certificate bodies). */
export default command({
  description: "Show a tenant's IdP record (entity id, URLs, certificate fingerprints, maps, refresh state)",
  args: { ...tidArg },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const http = await ctx.http();
    const projection = await http.send<IdpProjection>({
      method: "GET",
      path: `/tenants/${seg(tid)}/saml/idp`,
      auth: "admin",
    });
    return result(projection, idpPretty(projection, tid));
  },
});
