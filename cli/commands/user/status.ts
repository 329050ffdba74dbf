import { type AnyCommand, command, mirror } from "../../command.ts";

/** `user suspend|deactivate|activate`: `POST /accounts/status` (api.md §6.1). */
export function statusCommand(status: "SUSPENDED" | "INACTIVE" | "ACTIVE", description: string): AnyCommand {
  return command({
    description,
    args: { email: { type: "string", required: true, valueHint: "email", description: "the user's email" } },
    run: (args, ctx) =>
      mirror(ctx, {
        method: "POST",
        path: "/accounts/status",
        auth: "admin",
        body: { email: args.email, status },
      }),
  });
}
