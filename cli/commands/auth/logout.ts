import { command } from "../../command.ts";
import { result } from "../../output.ts";
import { TOKEN_FIELDS } from "../../profile.ts";

export default command({
  description: "Forget the stored idToken, access token and worker token (no network call)",
  args: {},
  async run(_args, ctx) {
    const { name } = await ctx.updateProfile((p) => {
      for (const t of TOKEN_FIELDS) delete p[t];
    });
    return result({ profile: name, status: "logged_out" });
  },
});
