import { open } from "node:fs/promises";
import { generateRsaKeyPair } from "../../../src/crypto/keygen.ts";
import { command } from "../../command.ts";
import { CliError, usage } from "../../errors.ts";
import { blocks, result, text } from "../../output.ts";

/**
 * docs/spec/cli.md §5.5, docs/spec/tokens.md §6.3 step 1: a new RSA signing key, local only. The private key goes to
 * `--out` (created 0600, never overwritten) or to stdout; the public JWK is printed for `jwksKeys`.
 */
export default command({
  description: "Generate an RSA signing key (PKCS#8 PEM) and print its public JWK",
  args: {
    kid: { type: "string", required: true, valueHint: "kid", description: "key id to publish it under" },
    bits: { type: "enum", options: ["2048", "3072", "4096"], default: "2048", description: "modulus length" },
    out: {
      type: "string",
      valueHint: "file",
      description: "write the private key here (mode 0600; never overwrites)",
    },
  },
  async run(args, ctx) {
    if (args.kid.trim() === "") throw usage("--kid must not be empty");
    const bits = Number(args.bits);
    const pair = await generateRsaKeyPair(bits);
    const pem = pair.pkcs8Pem;
    const { kty, n, e } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const publicJwk = { kty, kid: args.kid, use: "sig", alg: "RS256", n, e };

    if (args.out !== undefined) {
      await writeNew(args.out, pem);
      ctx.io.stderr.write(`wrote the private key to ${args.out} (mode 0600)\n`);
      return result(
        { kid: args.kid, bits, privateKeyFile: args.out, publicJwk },
        text(JSON.stringify(publicJwk, null, 2)),
      );
    }
    return result(
      { kid: args.kid, bits, privateKeyPem: pem, publicJwk },
      blocks(text(pem), text(JSON.stringify(publicJwk, null, 2))),
    );
  },
});

async function writeNew(path: string, content: string): Promise<void> {
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.writeFile(content, "utf8");
    } finally {
      await handle.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError("LOCAL", `refusing to overwrite ${path}: choose another --out or remove the file`);
    }
    throw new CliError("LOCAL", `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
