import { command } from "../../command.ts";
import { profileView } from "./view.ts";

export default command({
  description: "Show the selected profile (API key masked, tokens as stored/absent)",
  args: {},
  async run(_args, ctx) {
    return profileView(await ctx.requireProfile(), ctx.configPath);
  },
});
