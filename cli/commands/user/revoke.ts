import { command, mirror } from "../../command.ts";
import type { Ctx } from "../../context.ts";
import type { CommandResult } from "../../output.ts";

/** `POST /accounts/revoke` with the only supported scope (api.md §6.2); shared with `revoke tokens`. */
export function revokeGlobal(ctx: Ctx, email: string): Promise<CommandResult> {
  return mirror(ctx, {
    method: "POST",
    path: "/accounts/revoke",
    auth: "admin",
    body: { email, scope: "global" },
  });
}

export default command({
  description: "Revoke every token of a user (bumps the token version)",
  args: { email: { type: "string", required: true, valueHint: "email", description: "the user's email" } },
  run: (args, ctx) => revokeGlobal(ctx, args.email),
});
