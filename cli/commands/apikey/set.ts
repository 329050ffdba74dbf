import { command, readSecret } from "../../command.ts";
import { result } from "../../output.ts";
import { maskSecret } from "../../profile.ts";

export default command({
  description: "Store the API key in the selected profile (prompted without echo)",
  args: {
    "api-key": {
      type: "string",
      alias: ["key"],
      valueHint: "key",
      description: "the key (discouraged: visible in shell history)",
    },
    "api-key-stdin": { type: "boolean", description: "read the key from standard input" },
  },
  async run(args, ctx) {
    await ctx.requireProfile();
    const apiKey = await readSecret(ctx, {
      value: args["api-key"],
      fromStdin: args["api-key-stdin"],
      flag: "api-key",
      label: "API key",
    });
    const { name } = await ctx.updateProfile((p) => {
      p.apiKey = apiKey.trim();
    });
    return result({ profile: name, apiKey: maskSecret(apiKey.trim()) });
  },
});
