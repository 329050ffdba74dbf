import { writeFile } from "node:fs/promises";
import { parseSamlXml } from "../../../src/saml/xml.ts";
import { command } from "../../command.ts";
import { CliError, HttpError } from "../../errors.ts";
import { fields, result, text } from "../../output.ts";
import { rawRequest } from "./shared.ts";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";

export interface SpMetadataSummary {
  entityID: string;
  acsURL: string;
  sloURL: string;
  validUntil: string;
  /** SHA-256 (hex) of each signing certificate's DER, in document order. */
  signingCertificates: string[];
}

/** The summary of docs/spec/cli.md §5.6 read from Tikti's SP metadata document. */
export async function summarise(xml: string, requestId: string): Promise<SpMetadataSummary> {
  const bad = (why: string) =>
    new HttpError({ status: 200, error: `the server's SP metadata ${why}`, code: "BAD_RESPONSE", requestId });
  let root: Element;
  try {
    // The one hardened parser of inbound XML (src/saml/xml.ts), here for the server's answer.
    root = parseSamlXml(new TextEncoder().encode(xml)).root as unknown as Element;
  } catch {
    throw bad("is not well-formed XML");
  }
  if (root.namespaceURI !== MD || root.localName !== "EntityDescriptor") {
    throw bad("has no md:EntityDescriptor root");
  }
  const all = (parent: Element, ns: string, name: string) =>
    Array.from(parent.getElementsByTagNameNS(ns, name) as unknown as ArrayLike<Element>);
  const acs = all(root, MD, "AssertionConsumerService");
  const defaultAcs = acs.find((a) => a.getAttribute("isDefault") === "true") ?? acs[0];
  const slo = all(root, MD, "SingleLogoutService")[0];
  const signingCertificates: string[] = [];
  for (const kd of all(root, MD, "KeyDescriptor")) {
    const use = kd.getAttribute("use");
    if (use !== "signing" && use !== "" && use !== null) continue;
    for (const c of all(kd, DS, "X509Certificate")) {
      const der = Buffer.from((c.textContent ?? "").replace(/\s+/g, ""), "base64");
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
      signingCertificates.push(Buffer.from(digest).toString("hex"));
    }
  }
  return {
    entityID: root.getAttribute("entityID") ?? "",
    acsURL: defaultAcs?.getAttribute("Location") ?? "",
    sloURL: slo?.getAttribute("Location") ?? "",
    validUntil: root.getAttribute("validUntil") ?? "",
    signingCertificates,
  };
}

/** docs/spec/cli.md §5.6 `saml metadata`: Tikti's SP metadata (global, or with a tenant's unsolicited ACS). */
export default command({
  description: "Download the SP metadata to give to an IdP (stdout, or --out <file>)",
  args: {
    out: { type: "string", valueHint: "file", description: "write the XML to this file instead of stdout" },
    tenant: {
      type: "string",
      alias: "tid",
      valueHint: "id",
      description:
        "the tenant's document (adds its unsolicited ACS when it opted in); default: the global one",
    },
  },
  async run(args, ctx) {
    const path = args.tenant ? `/saml/metadata/${encodeURIComponent(args.tenant)}` : "/saml/metadata";
    const { body } = await rawRequest(ctx, { path, accept: "application/samlmetadata+xml" });
    const summary = await summarise(body, ctx.requestId);
    if (args.out !== undefined) {
      try {
        await writeFile(args.out, body, "utf8");
      } catch (e) {
        throw new CliError("LOCAL", `cannot write ${args.out}: ${(e as Error).message}`, { cause: e });
      }
      ctx.io.stderr.write(`wrote the SP metadata to ${args.out}\n`);
      return result(
        summary,
        fields([
          ["entityID", summary.entityID],
          ["acsURL", summary.acsURL],
          ["sloURL", summary.sloURL],
          ["validUntil", summary.validUntil],
          ["signing certs", summary.signingCertificates],
          ["file", args.out],
        ]),
      );
    }
    return result(summary, text(body));
  },
});
