import { open } from "node:fs/promises";
import { generateAccessTokenKeyPair } from "../../../src/crypto/keygen.ts";
import { command } from "../../command.ts";
import { CliError, usage } from "../../errors.ts";
import { blocks, result, text } from "../../output.ts";

/**
 * docs/spec/cli.md §5.5, docs/spec/tokens.md §6.3 step 1: a new access-token signing key, local only — RSA
 * (RS256, the default), EC P-256 (ES256) or Ed25519 (EdDSA), docs/spec/tokens.md §1. The private key goes to
 * `--out` (created 0600, never overwritten) or to stdout; the public JWK is printed for `jwksKeys`.
 */
export default command({
  description: "Generate an access-token signing key (PKCS#8 PEM) and print its public JWK",
  args: {
    kid: { type: "string", required: true, valueHint: "kid", description: "key id to publish it under" },
    alg: {
      type: "enum",
      options: ["RS256", "ES256", "EdDSA"],
      default: "RS256",
      description: "algorithm (RS256: RSA, ES256: EC P-256, EdDSA: Ed25519); set jwksAlgorithm to match",
    },
    bits: {
      type: "enum",
      options: ["2048", "3072", "4096"],
      default: "2048",
      description: "RSA modulus length (RS256 only)",
    },
    out: {
      type: "string",
      valueHint: "file",
      description: "write the private key here (mode 0600; never overwrites)",
    },
  },
  async run(args, ctx) {
    if (args.kid.trim() === "") throw usage("--kid must not be empty");
    const alg = args.alg as "RS256" | "ES256" | "EdDSA";
    if (alg !== "RS256" && args.bits !== "2048") throw usage("--bits applies to RS256 keys only");
    const bits = alg === "RS256" ? Number(args.bits) : undefined;
    const pair = await generateAccessTokenKeyPair(alg, bits);
    const pem = pair.pkcs8Pem;
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    // The JWKS shape of docs/spec/tokens.md §6.2: kty, kid, use, alg, then the public members.
    const publicJwk =
      alg === "RS256"
        ? { kty: jwk.kty, kid: args.kid, use: "sig", alg, n: jwk.n, e: jwk.e }
        : alg === "ES256"
          ? { kty: jwk.kty, kid: args.kid, use: "sig", alg, crv: jwk.crv, x: jwk.x, y: jwk.y }
          : { kty: jwk.kty, kid: args.kid, use: "sig", alg, crv: jwk.crv, x: jwk.x };
    const size = bits === undefined ? {} : { bits };

    if (args.out !== undefined) {
      await writeNew(args.out, pem);
      ctx.io.stderr.write(`wrote the private key to ${args.out} (mode 0600)\n`);
      return result(
        { kid: args.kid, alg, ...size, privateKeyFile: args.out, publicJwk },
        text(JSON.stringify(publicJwk, null, 2)),
      );
    }
    return result(
      { kid: args.kid, alg, ...size, privateKeyPem: pem, publicJwk },
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
