import { command, list, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";

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
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    return result(
      await http.send({
        method: "POST",
        path: `/tenants/${seg(tenantId)}/roles`,
        auth: "admin",
        body: { name: args.name, permissions: list(args.permissions) ?? [] },
      }),
    );
  },
});
