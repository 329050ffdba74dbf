import { command } from "../../command.ts";
import type { Ctx } from "../../context.ts";
import { type CommandResult, result } from "../../output.ts";

/** `POST /accounts/revoke` with the only supported scope (api.md §6.2). */
export async function revokeGlobal(ctx: Ctx, email: string): Promise<CommandResult> {
  const http = await ctx.http();
  return result(
    await http.send({
      method: "POST",
      path: "/accounts/revoke",
      auth: "admin",
      body: { email, scope: "global" },
    }),
  );
}

export default command({
  description: "Revoke every token of a user (bumps the token version)",
  args: { email: { type: "string", required: true, valueHint: "email", description: "the user's email" } },
  run: (args, ctx) => revokeGlobal(ctx, args.email),
});
