import { command, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Show a role of a tenant",
  args: {
    ...tenantArg,
    name: { type: "string", required: true, valueHint: "name", description: "role name" },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "GET",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/roles/${seg(args.name)}`,
      auth: "admin",
    }),
});
