import { command } from "../../command.ts";
import { objectFields, result } from "../../output.ts";

export default command({
  description: "Show the user of an idToken (default: the stored one)",
  args: {
    "id-token": {
      type: "string",
      valueHint: "jwt",
      description: "idToken to look up (default: the stored idToken)",
    },
  },
  async run(args, ctx) {
    const idToken = args["id-token"] ?? (await ctx.storedToken("idToken"));
    const http = await ctx.http();
    const body = await http.send<{ users: unknown[] }>({
      method: "POST",
      path: "/accounts/lookup",
      auth: "key",
      body: { idToken },
    });
    return result(body, objectFields(body.users[0]));
  },
});
