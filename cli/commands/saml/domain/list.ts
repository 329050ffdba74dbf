import { command } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result, table } from "../../../output.ts";
import { samlTenant, tidArg } from "../shared.ts";

/** docs/spec/cli.md §5.6 `saml domain list`: `GET /tenants/{tid}/saml/domains` (sorted). */
export default command({
  description: "List the email domains mapped to the tenant",
  args: { ...tidArg },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    const http = await ctx.http();
    const body = await http.send<{ domains: string[] }>({
      method: "GET",
      path: `/tenants/${seg(tid)}/saml/domains`,
      auth: "admin",
    });
    return result(
      body,
      table(
        ["domain"],
        body.domains.map((d) => [d]),
        "(no domains)",
      ),
    );
  },
});
