import { type AnyCommand, command, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";

/** `tenant disable|enable`: `POST /tenants/{id}/status` (api.md §7.4). */
export function tenantStatusCommand(status: "ACTIVE" | "DISABLED", description: string): AnyCommand {
  return command({
    description,
    args: { ...tenantArg },
    async run(args, ctx) {
      const tenantId = await ctx.tenant(args.tenant);
      const http = await ctx.http();
      return result(
        await http.send({
          method: "POST",
          path: `/tenants/${seg(tenantId)}/status`,
          auth: "admin",
          body: { status },
        }),
      );
    },
  });
}
