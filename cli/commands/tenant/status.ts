import { type AnyCommand, command, mirror, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";

/** `tenant disable|enable`: `POST /tenants/{id}/status` (docs/spec/api.md §7.4). */
export function tenantStatusCommand(status: "ACTIVE" | "DISABLED", description: string): AnyCommand {
  return command({
    description,
    args: { ...tenantArg },
    run: async (args, ctx) =>
      mirror(ctx, {
        method: "POST",
        path: `/tenants/${seg(await ctx.tenant(args.tenant))}/status`,
        auth: "admin",
        body: { status },
      }),
  });
}
