import { command, tenantArg } from "../../../command.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { clientPretty, readJwksFile } from "../shared.ts";

export default command({
  description: "Replace a client's public key set (private_key_jwt) with the keys of a JWK set file",
  args: {
    ...tenantArg,
    "client-id": { type: "string", required: true, valueHint: "id", description: "client id" },
    file: {
      type: "string",
      required: true,
      valueHint: "jwks.json",
      description: 'JWK set {"keys": [...]} of public keys (RSA >= 2048, EC P-256, Ed25519; unique kid)',
    },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const jwks = await readJwksFile(args.file, "--file");
    const http = await ctx.http();
    const client = await http.send<Record<string, unknown>>({
      method: "PUT",
      path: `/tenants/${seg(tenantId)}/clients/${seg(args["client-id"])}/jwks`,
      auth: "admin",
      body: jwks,
    });
    return result(client, clientPretty(client));
  },
});
