import { command, list, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Add a user to a tenant, or replace their roles there",
  args: {
    ...tenantArg,
    email: { type: "string", required: true, valueHint: "email", description: "the user's email" },
    roles: { type: "string", valueHint: "a,b", description: "role names in the tenant (comma-separated)" },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/users`,
      auth: "admin",
      body: { email: args.email, roles: list(args.roles) },
    }),
});
