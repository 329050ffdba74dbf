import { chmod, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { generateRsaKeyPair } from "../../../../src/crypto/keygen.ts";
import { toPem } from "../../../../src/crypto/pem.ts";
import { buildSelfSignedCertificate, OID } from "../../../../src/crypto/x509.ts";
import { command, integer } from "../../../command.ts";
import { CliError } from "../../../errors.ts";
import { fields, result } from "../../../output.ts";

/**
 * docs/spec/cli.md §5.6 `saml keys generate` (docs/spec/saml.md §13 step 1), local only: a new SP key pair as
 * `sp-next.key` (PKCS#8 PEM, mode 0600) and `sp-next.crt` (self-signed, SHA-256) in `--out-dir`,
 * ready to install as the *next* pair on every replica. Never overwrites without `--force`.
 */
export default command({
  description: "Generate the next SP key pair (sp-next.key, sp-next.crt) for a rotation; local only",
  args: {
    "out-dir": {
      type: "string",
      default: ".",
      valueHint: "dir",
      description: "where to write the two files",
    },
    "key-bits": {
      type: "enum",
      options: ["2048", "3072", "4096"],
      default: "2048",
      description: "RSA modulus length",
    },
    days: { type: "string", default: "1095", valueHint: "n", description: "certificate validity in days" },
    cn: { type: "string", default: "tikti-sp", valueHint: "name", description: "certificate subject CN" },
    force: { type: "boolean", description: "overwrite existing files" },
  },
  async run(args, ctx) {
    const days = integer(args.days, "--days", { min: 1, max: 36500 })!;
    const cn = args.cn.trim();
    if (cn === "") throw new CliError("USAGE", "--cn must not be empty");
    const bits = Number(args["key-bits"]);
    const keyFile = join(args["out-dir"], "sp-next.key");
    const certFile = join(args["out-dir"], "sp-next.crt");
    if (!args.force) {
      for (const f of [keyFile, certFile]) {
        if (await exists(f))
          throw new CliError("LOCAL", `refusing to overwrite ${f}: pass --force or choose another --out-dir`);
      }
    }
    const pair = await generateRsaKeyPair(bits);
    // An end-entity certificate, subject = issuer = CN=<cn>, a random positive 128-bit serial,
    // valid from five minutes ago (clock skew between replicas) for --days: SAML SP metadata pins
    // the certificate itself rather than a chain.
    const now = Date.now();
    const serial = crypto.getRandomValues(new Uint8Array(16));
    serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
    const notAfter = new Date(Math.floor((now + days * 86_400_000) / 1000) * 1000);
    const cert = {
      notAfter,
      der: await buildSelfSignedCertificate({
        privateKey: pair.privateKey,
        spki: pair.spki,
        name: [[OID.commonName, cn]],
        notBefore: now - 5 * 60_000,
        notAfter: notAfter.getTime(),
        serial,
        endEntity: true,
      }),
    };
    const keyPem = pair.pkcs8Pem;
    await write(keyFile, keyPem, 0o600, args.force === true);
    await write(certFile, toPem(cert.der, "CERTIFICATE"), 0o644, args.force === true);
    const sha256 = Buffer.from(await crypto.subtle.digest("SHA-256", cert.der as BufferSource)).toString(
      "hex",
    );
    ctx.io.stderr.write(`wrote ${keyFile} (mode 0600) and ${certFile}\n`);
    const out = {
      keyFile,
      certFile,
      sha256,
      subject: `CN=${cn}`,
      bits,
      notAfter: cert.notAfter.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    return result(
      out,
      fields([
        ["sha256", sha256],
        ["key file", keyFile],
        ["cert file", certFile],
        ["subject", out.subject],
        ["bits", bits],
        ["not after", out.notAfter],
      ]),
    );
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function write(path: string, content: string, mode: number, overwrite: boolean): Promise<void> {
  try {
    const handle = await open(path, overwrite ? "w" : "wx", mode);
    try {
      await handle.writeFile(content, "utf8");
    } finally {
      await handle.close();
    }
    // An overwritten file keeps its old mode: the key must still end up 0600.
    await chmod(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError("LOCAL", `refusing to overwrite ${path}: pass --force or choose another --out-dir`);
    }
    throw new CliError("LOCAL", `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}
