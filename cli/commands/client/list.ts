import { command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result, table } from "../../output.ts";

export interface Client {
  clientId: string;
  type: string;
  status?: string;
  allowedGrantTypes: string[];
  defaultScopes: string[];
  allowedEventTypes?: string[];
  maxTtlSeconds?: number;
  roles?: string[];
}

export default command({
  description: "List the clients of a tenant",
  args: { ...tenantArg },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const http = await ctx.http();
    const clients = await http.send<Client[]>({
      method: "GET",
      path: `/tenants/${seg(tenantId)}/clients`,
      auth: "admin",
    });
    const rows = clients.map((c) => [
      c.clientId,
      c.type,
      c.status,
      c.allowedGrantTypes,
      c.defaultScopes,
      c.allowedEventTypes,
      c.roles,
      c.maxTtlSeconds,
    ]);
    return result(
      clients,
      table(
        ["client id", "type", "status", "grants", "scopes", "event types", "roles", "max ttl"],
        rows,
        "(no clients)",
      ),
    );
  },
});
