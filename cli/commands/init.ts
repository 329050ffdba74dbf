import { command } from "../command.ts";
import { configError } from "../errors.ts";
import { result } from "../output.ts";
import { normaliseBaseUrl, type Profile, TOKEN_FIELDS } from "../profile.ts";

/** docs/spec/cli.md §5.1: creates or updates the selected profile and makes it current; no network call. */
export default command({
  description: "Create or update the selected profile and make it current (no network call)",
  args: {
    "base-url": {
      type: "string",
      alias: ["host"],
      valueHint: "url",
      description: "server URL, e.g. https://id.example.com",
    },
    "api-key": {
      type: "string",
      valueHint: "key",
      description: "the service API key (prompted without echo when absent)",
    },
    tenant: { type: "string", alias: ["tid"], valueHint: "id", description: "default tenant for --tenant" },
    prompt: {
      type: "boolean",
      default: true,
      description: "ask for missing values on a terminal",
      negativeDescription: "never prompt, even on a terminal",
    },
  },
  async run(args, ctx) {
    const { profile: existing = {} } = await ctx.findProfile();
    const interactive = args.prompt !== false && ctx.io.stdinIsTTY;
    const ask = async (question: string, hidden: boolean) =>
      interactive ? (await ctx.io.prompt(question, { hidden })).trim() || undefined : undefined;

    let baseUrl = args["base-url"];
    if (baseUrl === undefined && !existing.baseUrl)
      baseUrl = await ask("Base URL (e.g. https://id.example.com): ", false);
    baseUrl = baseUrl === undefined ? existing.baseUrl : normaliseBaseUrl(baseUrl);
    if (!baseUrl) throw configError("missing base URL: pass --base-url <url>");
    let apiKey = args["api-key"];
    if (apiKey === undefined && !existing.apiKey) apiKey = await ask("API key: ", true);
    let tenantId = args.tenant;
    if (tenantId === undefined && !existing.tenantId)
      tenantId = await ask("Default tenant (optional): ", false);

    const { name } = await ctx.updateProfile(
      (p: Profile) => {
        // Tokens of another server are worthless there: a new base URL starts logged out.
        if (p.baseUrl !== undefined && p.baseUrl !== baseUrl) for (const t of TOKEN_FIELDS) delete p[t];
        p.baseUrl = baseUrl;
        if (apiKey !== undefined) p.apiKey = apiKey;
        if (tenantId !== undefined) p.tenantId = tenantId;
      },
      { create: true, makeCurrent: true },
    );
    return result({ profile: name, configPath: ctx.configPath });
  },
});
