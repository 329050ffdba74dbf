import { command, integer, list, tenantArg } from "../../command.ts";
import { usage } from "../../errors.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";
import { clientPretty, clientSettingArgs } from "./shared.ts";

interface ClientObject {
  type: string;
  status: string;
  allowedGrantTypes: string[];
  defaultScopes: string[];
  allowedEventTypes?: string[];
  maxTtlSeconds?: number;
  roles?: string[];
}

/** Optional settings that exist only when set; `--unset` is the one way to remove them. */
const UNSETTABLE = ["event-types", "max-ttl"] as const;

/**
 * docs/spec/oauth.md §3 `PUT /tenants/:t/clients/:c` replaces every setting (an omitted one takes its create
 * default), so `client update` reads the client, changes only the given flags and sends it all
 * back, like `saml idp update`: `--status DISABLED` alone must not wipe the scopes. The secret,
 * jwks and createdAt are the server's to keep. An empty value (`--scopes ""`) empties a list.
 */
export default command({
  description: "Change a client's settings or status; settings not given are kept",
  args: {
    ...tenantArg,
    "client-id": { type: "string", required: true, valueHint: "id", description: "client id" },
    type: { type: "string", valueHint: "type", description: "CONFIDENTIAL, PUBLIC or SERVICE" },
    status: { type: "string", valueHint: "status", description: "ACTIVE or DISABLED" },
    ...clientSettingArgs,
    unset: {
      type: "string",
      valueHint: "a,b",
      description: "remove optional settings: event-types (no ceiling), max-ttl (no cap)",
    },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const maxTtl = integer(args["max-ttl"], "--max-ttl");
    const unset = list(args.unset) ?? [];
    for (const name of unset) {
      if (!(UNSETTABLE as readonly string[]).includes(name)) {
        throw usage(`--unset takes ${UNSETTABLE.join(", ")}; got "${name}"`);
      }
      if (args[name] !== undefined) throw usage(`--${name} and --unset ${name} contradict each other`);
    }
    const http = await ctx.http();
    const path = `/tenants/${seg(tenantId)}/clients/${seg(args["client-id"])}`;
    const current = await http.send<ClientObject>({ method: "GET", path, auth: "admin" });
    const allowedEventTypes = unset.includes("event-types")
      ? undefined
      : (list(args["event-types"]) ?? current.allowedEventTypes);
    const maxTtlSeconds = unset.includes("max-ttl") ? undefined : (maxTtl ?? current.maxTtlSeconds);
    const client = await http.send<Record<string, unknown>>({
      method: "PUT",
      path,
      auth: "admin",
      body: {
        type: args.type ?? current.type,
        status: args.status ?? current.status,
        allowedGrantTypes: list(args.grant) ?? current.allowedGrantTypes,
        defaultScopes: list(args.scopes) ?? current.defaultScopes,
        roles: list(args.roles) ?? current.roles ?? [],
        ...(allowedEventTypes !== undefined ? { allowedEventTypes } : {}),
        ...(maxTtlSeconds !== undefined ? { maxTtlSeconds } : {}),
      },
    });
    return result(client, clientPretty(client));
  },
});
