import { type AnyCommand, command, mirror, userArgs, userRef } from "../../command.ts";

/** `user suspend|deactivate|activate`: `POST /accounts/status` (docs/spec/api.md §6.1). */
export function statusCommand(status: "SUSPENDED" | "INACTIVE" | "ACTIVE", description: string): AnyCommand {
  return command({
    description,
    args: { ...userArgs },
    run: (args, ctx) =>
      mirror(ctx, {
        method: "POST",
        path: "/accounts/status",
        auth: "admin",
        body: { ...userRef(args), status },
      }),
  });
}
