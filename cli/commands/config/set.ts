import { command } from "../../command.ts";
import { usage } from "../../errors.ts";
import { normaliseBaseUrl, TOKEN_FIELDS } from "../../profile.ts";
import { profileView } from "./view.ts";

export default command({
  description: "Change fields of the selected profile",
  args: {
    "base-url": {
      type: "string",
      alias: ["host"],
      valueHint: "url",
      description: "server URL (stored tokens are cleared when it changes)",
    },
    "api-key": {
      type: "string",
      valueHint: "key",
      description: "the service API key (prefer `apikey set`, which prompts)",
    },
    tenant: {
      type: "string",
      alias: ["tid"],
      valueHint: "id",
      description: 'default tenant for --tenant ("" clears it)',
    },
  },
  async run(args, ctx) {
    const baseUrl = args["base-url"] === undefined ? undefined : normaliseBaseUrl(args["base-url"]);
    const apiKey = args["api-key"];
    const tenantId = args.tenant;
    if (baseUrl === undefined && apiKey === undefined && tenantId === undefined) {
      throw usage("nothing to set: pass --base-url, --api-key or --tenant");
    }
    const selected = await ctx.updateProfile((p) => {
      if (baseUrl !== undefined) {
        if (p.baseUrl !== baseUrl) for (const t of TOKEN_FIELDS) delete p[t];
        p.baseUrl = baseUrl;
      }
      if (apiKey !== undefined) p.apiKey = apiKey;
      if (tenantId !== undefined) p.tenantId = tenantId;
    });
    return profileView(selected, ctx.configPath);
  },
});
