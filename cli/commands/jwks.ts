import { command } from "../command.ts";
import type { Ctx } from "../context.ts";
import { type CommandResult, result, table } from "../output.ts";

interface Jwk {
  kid?: string;
  alg?: string;
  use?: string;
  n?: string;
}

/** Modulus length in bits of an RSA JWK's `n` (unpadded base64url, big-endian). */
export function modulusBits(n: string | undefined): number | undefined {
  if (!n) return undefined;
  const bytes = Buffer.from(n, "base64url");
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + bytes[i]!.toString(2).length;
}

/** `GET /.well-known/jwks.json` as a `KID ALG USE BITS` table (docs/spec/cli.md §5.5); shared with `keys list`. */
export async function publishedKeys(ctx: Ctx): Promise<CommandResult> {
  const http = await ctx.http();
  const jwks = await http.send<{ keys: Jwk[] }>({
    method: "GET",
    path: "/.well-known/jwks.json",
    auth: "public",
  });
  const rows = jwks.keys.map((k) => [k.kid, k.alg, k.use, modulusBits(k.n)]);
  return result(jwks, table(["kid", "alg", "use", "bits"], rows, "(no keys)"));
}

export default command({
  description: "Show the server's published signing keys (JWKS)",
  args: {},
  run: (_args, ctx) => publishedKeys(ctx),
});
