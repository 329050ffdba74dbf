import { command, integer, list, tenantArg } from "../../command.ts";
import { seg } from "../../http.ts";
import { result } from "../../output.ts";
import { clientPretty, clientSettingArgs, readJwksFile } from "./shared.ts";

export default command({
  description: "Register a client (audience and OAuth client); prints its OAuth client id and secret once",
  args: {
    ...tenantArg,
    "client-id": {
      type: "string",
      required: true,
      valueHint: "id",
      description: "client id, used as the audience",
    },
    type: {
      type: "string",
      default: "SERVICE",
      valueHint: "type",
      description: "CONFIDENTIAL, PUBLIC or SERVICE",
    },
    ...clientSettingArgs,
    grant: { ...clientSettingArgs.grant, default: "token_exchange" },
    jwks: {
      type: "string",
      valueHint: "file",
      description: 'JWK set file {"keys": [...]} of public keys for private_key_jwt',
    },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const maxTtlSeconds = integer(args["max-ttl"], "--max-ttl");
    const jwks = args.jwks === undefined ? undefined : await readJwksFile(args.jwks, "--jwks");
    const http = await ctx.http();
    const body = await http.send<Record<string, unknown>>({
      method: "POST",
      path: `/tenants/${seg(tenantId)}/clients`,
      auth: "admin",
      body: {
        clientId: args["client-id"],
        type: args.type,
        allowedGrantTypes: list(args.grant),
        defaultScopes: list(args.scopes),
        allowedEventTypes: list(args["event-types"]),
        maxTtlSeconds,
        roles: list(args.roles),
        jwks,
      },
    });
    // The one secret pretty mode prints (docs/spec/cli.md §3); only its hash is stored on the server.
    if (ctx.globals.output === "pretty" && typeof body.secret === "string") {
      ctx.warn("the client secret is shown only now and cannot be shown again: store it safely");
    }
    return result(body, clientPretty(body));
  },
});
