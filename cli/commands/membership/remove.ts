import { command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";

export default command({
  description: "Remove a user from a tenant (the user record is kept)",
  args: {
    ...tenantArg,
    email: { type: "string", required: true, valueHint: "email", description: "the user's email" },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    return result(
      await http.send({
        method: "POST",
        path: `/tenants/${seg(tenantId)}/users/remove`,
        auth: "admin",
        body: { email: args.email },
      }),
    );
  },
});
