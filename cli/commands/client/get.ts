import { command, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Show a client of a tenant",
  args: {
    ...tenantArg,
    "client-id": { type: "string", required: true, valueHint: "id", description: "client id" },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "GET",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/clients/${seg(args["client-id"])}`,
      auth: "admin",
    }),
});
