import { command } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { samlTenant, tidArg } from "../shared.ts";

export const domainArg = {
  domain: { type: "string", required: true, valueHint: "domain", description: "email domain, e.g. acme.com" },
} as const;

/** docs/spec/cli.md §5.6 `saml domain add`: `PUT /tenants/{tid}/saml/domains/{domain}` (idempotent; docs/spec/saml.md §11.4). */
export default command({
  description: "Map an email domain to the tenant for discovery (repeating the same pair is fine)",
  args: { ...tidArg, ...domainArg },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const http = await ctx.http();
    const body = await http.send<{ domain: string; tenantId: string }>({
      method: "PUT",
      path: `/tenants/${seg(tid)}/saml/domains/${seg(args.domain.trim().toLowerCase())}`,
      auth: "admin",
    });
    return result(body);
  },
});
