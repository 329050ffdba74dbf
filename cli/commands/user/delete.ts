import { command } from "../../command.ts";
import { usage } from "../../errors.ts";
import { result } from "../../output.ts";
import { TOKEN_FIELDS } from "../../profile.ts";

export default command({
  description: "Delete the account of an idToken's user (default: the stored idToken's user)",
  args: {
    confirm: { type: "boolean", description: "required: confirms the deletion" },
    "id-token": {
      type: "string",
      valueHint: "jwt",
      description: "idToken of the user to delete (default: the stored one)",
    },
  },
  async run(args, ctx) {
    if (!args.confirm) throw usage("user delete removes the account for good: pass --confirm");
    const own = args["id-token"] === undefined;
    const idToken = args["id-token"] ?? (await ctx.storedToken("idToken"));
    const http = await ctx.http();
    const body = await http.send({
      method: "POST",
      path: "/accounts/delete",
      auth: "key",
      body: { idToken },
    });
    // The stored tokens belonged to the deleted user: keeping them would only produce 401s later.
    if (own) {
      await ctx.updateProfile((p) => {
        for (const t of TOKEN_FIELDS) delete p[t];
      });
    }
    return result(body);
  },
});
