import { command } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { samlTenant, tidArg } from "../shared.ts";
import { domainArg } from "./add.ts";

/** docs/spec/cli.md §5.6 `saml domain remove`: `DELETE /tenants/{tid}/saml/domains/{domain}`. */
export default command({
  description: "Remove an email-domain mapping of the tenant",
  args: { ...tidArg, ...domainArg },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const domain = args.domain.trim().toLowerCase();
    const http = await ctx.http();
    await http.send({
      method: "DELETE",
      path: `/tenants/${seg(tid)}/saml/domains/${seg(domain)}`,
      auth: "admin",
    });
    return result({ domain, tenantId: tid, removed: true });
  },
});
