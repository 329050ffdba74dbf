import { command } from "../../../command.ts";
import { usage } from "../../../errors.ts";
import { seg } from "../../../http.ts";
import { fields, result } from "../../../output.ts";
import { samlTenant, tidArg } from "../shared.ts";

/**
 * docs/spec/cli.md §5.6 `saml idp remove`: `DELETE /tenants/{tid}/saml/idp`. Asks on a terminal; without one
 * `--yes` is required. Domain mappings, user links and live sessions stay (docs/spec/saml.md §11.3).
 */
export default command({
  description: "Remove a tenant's IdP record (domains, user links and live sessions are kept)",
  args: {
    ...tidArg,
    yes: { type: "boolean", description: "do not ask for confirmation (required without a terminal)" },
  },
  async run(args, ctx) {
    const tid = await samlTenant(ctx, args);
    if (!args.yes) {
      if (!ctx.io.stdinIsTTY) throw usage(`refusing to remove the IdP of tenant "${tid}" without --yes`);
      const answer = await ctx.io.prompt(
        `Remove the IdP of tenant "${tid}"? SAML logins there stop. [y/N] `,
        {
          hidden: false,
        },
      );
      if (!/^y(es)?$/i.test(answer.trim())) throw usage("cancelled: nothing was removed");
    }
    const http = await ctx.http();
    await http.send({ method: "DELETE", path: `/tenants/${seg(tid)}/saml/idp`, auth: "admin" });
    const out = { tenantId: tid, removed: true };
    return result(
      out,
      fields([
        ["tenant", tid],
        ["status", "IdP removed"],
      ]),
    );
  },
});
