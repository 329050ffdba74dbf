import { command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result, table } from "../../output.ts";

interface Role {
  name: string;
  permissions: string[];
}

export default command({
  description: "List the roles of a tenant",
  args: { ...tenantArg },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    const roles = await http.send<Role[]>({
      method: "GET",
      path: `/tenants/${seg(tenantId)}/roles`,
      auth: "admin",
    });
    return result(
      roles,
      table(
        ["name", "permissions"],
        roles.map((r) => [r.name, r.permissions]),
        "(no roles)",
      ),
    );
  },
});
