import { command, list, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Create or replace a role of a tenant",
  args: {
    ...tenantArg,
    name: { type: "string", required: true, valueHint: "name", description: "role name" },
    permissions: {
      type: "string",
      valueHint: "a,b",
      description: "permissions (comma-separated; default none)",
    },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/roles`,
      auth: "admin",
      body: { name: args.name, permissions: list(args.permissions) ?? [] },
    }),
});
