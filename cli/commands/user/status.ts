import { type AnyCommand, command } from "../../command.ts";
import { result } from "../../output.ts";

/** `user suspend|deactivate|activate`: `POST /accounts/status` (api.md §6.1). */
export function statusCommand(status: "SUSPENDED" | "INACTIVE" | "ACTIVE", description: string): AnyCommand {
  return command({
    description,
    args: { email: { type: "string", required: true, valueHint: "email", description: "the user's email" } },
    async run(args, ctx) {
      const http = await ctx.http();
      return result(
        await http.send({
          method: "POST",
          path: "/accounts/status",
          auth: "admin",
          body: { email: args.email, status },
        }),
      );
    },
  });
}
