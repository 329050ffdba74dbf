import { command, list, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";

export default command({
  description: "Add a user to a tenant, or replace their roles there",
  args: {
    ...tenantArg,
    email: { type: "string", required: true, valueHint: "email", description: "the user's email" },
    roles: { type: "string", valueHint: "a,b", description: "role names in the tenant (comma-separated)" },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    return result(
      await http.send({
        method: "POST",
        path: `/tenants/${seg(tenantId)}/users`,
        auth: "admin",
        body: { email: args.email, roles: list(args.roles) },
      }),
    );
  },
});
