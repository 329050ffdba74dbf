import { command, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Show a tenant",
  args: { ...tenantArg },
  run: async (args, ctx) =>
    mirror(ctx, { method: "GET", path: `/tenants/${seg(await ctx.tenant(args.tenant))}`, auth: "admin" }),
});
