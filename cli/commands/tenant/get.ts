import { command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";

export default command({
  description: "Show a tenant",
  args: { ...tenantArg },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    return result(await http.send({ method: "GET", path: `/tenants/${seg(tenantId)}`, auth: "admin" }));
  },
});
