import { command, list, mirror, tenantArg, userArgs, userRef } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Add a user to a tenant, or replace their roles there",
  args: {
    ...tenantArg,
    ...userArgs,
    roles: { type: "string", valueHint: "a,b", description: "role names in the tenant (comma-separated)" },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/users`,
      auth: "admin",
      body: { ...userRef(args), roles: list(args.roles) },
    }),
});
