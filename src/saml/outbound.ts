/**
 * Outbound SAML messages (docs/spec/saml.md §3 "Outbound messages", §5 step 7, §9.2 step 7, §9.3 step 6):
 *
 * - HTTP-Redirect binding: raw DEFLATE, standard base64, percent-encoding that keeps only the RFC
 *   3986 unreserved characters, and an RSASSA-PKCS1-v1_5 SHA-256 signature over exactly
 *   `SAMLRequest=<v>[&RelayState=<v>]&SigAlg=<v>` (or `SAMLResponse=…`) with the SP signing pair.
 *   The URL may not exceed 8192 bytes.
 * - HTTP-POST binding: an enveloped XML signature (rsa-sha256, sha256, exclusive C14N) referencing
 *   the root `ID`, placed right after `Issuer` as the SAML schema requires, delivered by an
 *   auto-submit form whose script carries a per-response nonce (src/http/saml/auto-submit.ts).
 *
 * XML is built with fast-xml-parser's builder (values escaped), never by string concatenation of
 * untrusted values.
 */
import { XMLBuilder } from "fast-xml-parser";
import { SignedXml } from "xml-crypto";
import { readAllLimited } from "../bytes.ts";
import { base64ToBytes, bytesToBase64, toPem } from "../crypto/pem.ts";
import { DIGEST_ALG_URI, ENVELOPED_SIGNATURE, EXC_C14N, SIG_ALG_URI } from "./algorithms.ts";
import type { SpKeyPair } from "./sp-keys.ts";

export const SIG_ALG_RSA_SHA256 = SIG_ALG_URI["rsa-sha256"];
/** §5 step 7: the final Redirect URL may not be longer. */
export const MAX_REDIRECT_URL_BYTES = 8192;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
  format: false,
});

/** Serialises a fast-xml-parser object tree (no XML declaration). */
export function buildXml(doc: Record<string, unknown>): string {
  return builder.build(doc) as string;
}

/** RFC 3986 percent-encoding: every byte except `A–Z a–z 0–9 - . _ ~` is escaped. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

async function deflateRaw(text: string): Promise<Uint8Array> {
  const stream = new Blob([new TextEncoder().encode(text)])
    .stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  // No size cap here: the finished URL is measured against MAX_REDIRECT_URL_BYTES by the caller.
  return readAllLimited(stream, Number.POSITIVE_INFINITY);
}

export class OutboundTooLong extends Error {}

/**
 * The signed Redirect-binding URL for `xml` (§5 step 7). `relayState` is omitted when empty.
 * Throws `OutboundTooLong` when the URL exceeds 8192 bytes.
 */
export async function redirectUrl(input: {
  destination: string;
  parameter: "SAMLRequest" | "SAMLResponse";
  xml: string;
  relayState?: string | null;
  pair: SpKeyPair;
}): Promise<string> {
  const message = bytesToBase64(await deflateRaw(input.xml));
  let signed = `${input.parameter}=${percentEncode(message)}`;
  if (input.relayState) signed += `&RelayState=${percentEncode(input.relayState)}`;
  signed += `&SigAlg=${percentEncode(SIG_ALG_RSA_SHA256)}`;
  const signature = await input.pair.sign(new TextEncoder().encode(signed), "SHA-256");
  const query = `${signed}&Signature=${percentEncode(bytesToBase64(signature))}`;
  const url = `${input.destination}${input.destination.includes("?") ? "&" : "?"}${query}`;
  if (new TextEncoder().encode(url).length > MAX_REDIRECT_URL_BYTES) {
    throw new OutboundTooLong("redirect URL longer than 8192 bytes");
  }
  return url;
}

/**
 * Enveloped XML signature over the root element (which must carry `ID` and an `Issuer` child), with
 * the signing certificate in `KeyInfo` for the IdP's convenience (the IdP pins it from metadata).
 */
export function signEnveloped(xml: string, pair: SpKeyPair): string {
  const sig = new SignedXml({
    privateKey: pair.privateKeyPem,
    publicCert: toPem(base64ToBytes(pair.certBase64), "CERTIFICATE"),
    signatureAlgorithm: SIG_ALG_RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  sig.addReference({
    xpath: "/*",
    transforms: [ENVELOPED_SIGNATURE, EXC_C14N],
    digestAlgorithm: DIGEST_ALG_URI.sha256,
  });
  sig.computeSignature(xml, {
    prefix: "ds",
    location: { reference: "/*/*[local-name(.)='Issuer']", action: "after" },
  });
  return sig.getSignedXml();
}
