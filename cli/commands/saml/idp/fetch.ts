import { command } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { type IdpProjection, idpPretty, samlTenant, tidArg } from "../shared.ts";

/** docs/spec/cli.md §5.6 `saml idp fetch`: `POST /tenants/{tid}/saml/idp/refresh` (docs/spec/saml.md §11.3). */
export default command({
  description: "Fetch the IdP's metadata URL now and update the record (certificates overlap as on refresh)",
  args: { ...tidArg },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const http = await ctx.http();
    const projection = await http.send<IdpProjection>({
      method: "POST",
      path: `/tenants/${seg(tid)}/saml/idp/refresh`,
      auth: "admin",
    });
    return result(projection, idpPretty(projection, tid));
  },
});
