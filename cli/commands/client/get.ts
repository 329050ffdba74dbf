import { command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";
import { clientPretty } from "./shared.ts";

export default command({
  description: "Show a client of a tenant",
  args: {
    ...tenantArg,
    "client-id": { type: "string", required: true, valueHint: "id", description: "client id" },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    const client = await http.send<Record<string, unknown>>({
      method: "GET",
      path: `/tenants/${seg(tenantId)}/clients/${seg(args["client-id"])}`,
      auth: "admin",
    });
    return result(client, clientPretty(client));
  },
});
