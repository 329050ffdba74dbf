import { command, mirror, userArgs, userRef } from "../../command.ts";
import type { Ctx } from "../../context.ts";
import type { CommandResult } from "../../output.ts";

/** `POST /accounts/revoke` with the only supported scope (docs/spec/api.md §6.2); shared with `revoke tokens`. */
export function revokeGlobal(
  ctx: Ctx,
  user: { email: string } | { localId: string },
): Promise<CommandResult> {
  return mirror(ctx, {
    method: "POST",
    path: "/accounts/revoke",
    auth: "admin",
    body: { ...user, scope: "global" },
  });
}

export default command({
  description: "Revoke every token of a user (bumps the token version)",
  args: { ...userArgs },
  run: (args, ctx) => revokeGlobal(ctx, userRef(args)),
});
