/**
 * XML signature verification for inbound SAML messages (docs/spec/saml.md §7.4–§7.7).
 *
 * `verifyEnvelopedSignature(message, element, options)` checks the one `ds:Signature` that is a
 * direct child of `element`:
 *   1. algorithms (§7.6): every `Algorithm` in `SignedInfo` is in the allowlist, else `algorithm`;
 *   2. profile (§7.4): one `SignedInfo`, one `Reference` whose `URI` is `#` + the parent's `ID`,
 *      transforms exactly enveloped-signature then exclusive C14N (an `InclusiveNamespaces
 *      PrefixList` allowed), exclusive C14N for `SignedInfo`, no `ds:Object`, no comment or
 *      processing instruction anywhere in `SignedInfo` (a comment inside `DigestValue` would
 *      otherwise be dropped by canonicalisation), else `profile`;
 *   3. cryptography with xml-crypto 6.x against the pinned certificates only, tried in order
 *      (§7.5): `KeyInfo` is ignored (`getCertFromKeyInfo` returns null), and the instance's
 *      algorithm tables are cut down to the allowlist so xml-crypto cannot apply anything else;
 *   4. the signed bytes (§7.7): exactly one signed reference from `getSignedReferences()`, parsed
 *      with the same parser (`parseXmlText`); its root must be the element that was checked
 *      (namespace, local name and `ID`). Callers read every later value from that tree only.
 *
 * xml-crypto parses the message text itself (with its own bundled xmldom) to resolve the
 * reference; it receives the exact text our parser accepted — never a re-serialisation — and the
 * `ds:Signature` node from our tree. Identity data is never read from xml-crypto's tree: only the
 * canonical bytes it authenticated are used, after being parsed again here.
 *
 * `verifyRedirectSignature` checks an HTTP-Redirect binding signature (SAML bindings §3.4.4.1)
 * over the raw received query octets with WebCrypto.
 */
import type { Element } from "@xmldom/xmldom";
import { importX509 } from "jose";
import { SignedXml } from "xml-crypto";
import { base64ToBytes, toPem } from "../crypto/pem.ts";
import { only } from "../must.ts";
import {
  ENVELOPED_SIGNATURE,
  EXC_C14N,
  SIG_ALG_HASH,
  type SignatureAllowlist,
  sigAlgNameOf,
} from "./algorithms.ts";
import {
  attrOf,
  descendants,
  elementChildren,
  isNamed,
  isTextOnly,
  NS,
  type ParsedXml,
  parseXmlText,
  prescanMarkup,
  textOf,
} from "./xml.ts";

/** A pinned IdP signing certificate as stored in the IdP record (docs/spec/storage.md §3.1). */
export interface PinnedCertificate {
  /** Base64 DER. */
  der: string;
  /** ISO 8601; the certificate is unusable from this instant on. */
  notAfter: string;
  /** ISO 8601 or null; set on certificates kept only for the overlap window (§12.3). */
  retireAfter?: string | null;
}

/**
 * §7.5: the certificates signatures may be verified with at `now` — neither expired nor past
 * `retireAfter` — in record order, as PEM. An empty list means `idp_metadata_stale`.
 */
export function usableCertificates(certs: readonly PinnedCertificate[], now: number): string[] {
  const out: string[] = [];
  for (const c of certs) {
    const notAfter = Date.parse(c.notAfter);
    if (!(notAfter > now)) continue;
    if (c.retireAfter != null) {
      const retire = Date.parse(c.retireAfter);
      if (!(retire > now)) continue;
    }
    try {
      out.push(toPem(base64ToBytes(c.der.replace(/\s+/g, "")), "CERTIFICATE"));
    } catch {
      // An undecodable certificate cannot verify anything; skip it.
    }
  }
  return out;
}

export interface VerifyOptions {
  /** Pinned certificates as PEM, tried in order (see `usableCertificates`). */
  certificates: readonly string[];
  allow: SignatureAllowlist;
}

export type SignatureFailure = "missing" | "algorithm" | "profile" | "crypto";

export type SignatureCheck =
  | {
      ok: true;
      /** The canonical bytes that were signed (enveloped signature removed). */
      signedXml: string;
      /** `signedXml` parsed with the single parser; `signed.root` is the signed element. */
      signed: ParsedXml;
      signatureMethod: string;
      digestMethod: string;
      /** Index into `options.certificates` of the certificate that verified. */
      certificateIndex: number;
    }
  | { ok: false; failure: SignatureFailure; detail: string };

function fail(failure: SignatureFailure, detail: string): SignatureCheck {
  return { ok: false, failure, detail };
}

/** The `ds:Signature` children of an element (§7.3 rule 4 allows at most one). */
export function signatureChildren(element: Element): Element[] {
  return elementChildren(element).filter((e) => isNamed(e, NS.ds, "Signature"));
}

/** Verifies the enveloped signature of `element` (a node of `message.doc`); see the file header. */
export function verifyEnvelopedSignature(
  message: ParsedXml,
  element: Element,
  options: VerifyOptions,
): SignatureCheck {
  const [signature, ...others] = signatureChildren(element);
  if (signature === undefined) return fail("missing", "no_signature");
  if (others.length > 0) return fail("profile", "several_signatures");

  const algorithms = checkAlgorithms(signature, options.allow);
  if (typeof algorithms === "string") return fail("algorithm", algorithms);

  const profile = checkProfile(signature, element);
  if (profile !== null) return fail("profile", profile);

  if (options.certificates.length === 0) return fail("crypto", "no_usable_certificate");
  let lastDetail = "signature_value";
  for (let i = 0; i < options.certificates.length; i++) {
    const result = checkWithCertificate(message, element, signature, options, i);
    if (result.ok) return { ...result, ...algorithms };
    lastDetail = result.detail;
    // A digest mismatch does not depend on the key: no other certificate can succeed.
    if (result.detail === "digest" || result.detail === "signed_reference") break;
  }
  return fail("crypto", lastDetail);
}

function checkAlgorithms(
  signature: Element,
  allow: SignatureAllowlist,
): { signatureMethod: string; digestMethod: string } | string {
  let signatureMethod = "";
  let digestMethod = "";
  const signedInfos = elementChildren(signature).filter((e) => isNamed(e, NS.ds, "SignedInfo"));
  if (signedInfos.length === 0) return "no_signed_info";
  for (const si of signedInfos) {
    for (const el of descendants(si)) {
      if (el.namespaceURI !== NS.ds) continue;
      const alg = attrOf(el, "Algorithm");
      switch (el.localName) {
        case "CanonicalizationMethod":
          if (alg !== EXC_C14N) return "canonicalization_method";
          break;
        case "SignatureMethod":
          if (alg === null || !allow.signatureMethods.has(alg)) return "signature_method";
          signatureMethod = alg;
          break;
        case "Transform":
          if (alg !== EXC_C14N && alg !== ENVELOPED_SIGNATURE) return "transform";
          break;
        case "DigestMethod":
          if (alg === null || !allow.digestMethods.has(alg)) return "digest_method";
          digestMethod = alg;
          break;
      }
    }
  }
  return { signatureMethod, digestMethod };
}

/** Only whitespace text between the elements of `el` (no comment, PI or text). */
function onlyElementsAndWhitespace(el: Element): boolean {
  return Array.from(el.childNodes).every(
    (n) => n.nodeType === 1 || (n.nodeType === 3 && /^[\t\n\r ]*$/.test(n.nodeValue ?? "")),
  );
}

function childSequence(el: Element): string[] {
  return elementChildren(el).map((c) =>
    c.namespaceURI === NS.ds ? (c.localName ?? "") : `{${c.namespaceURI}}${c.localName}`,
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const BASE64_TEXT = /^[A-Za-z0-9+/=\t\n\r ]+$/;

/** §7.4; returns a detail string on failure, `null` when the signature has the one accepted shape. */
function checkProfile(signature: Element, element: Element): string | null {
  if (signature.parentNode !== element) return "signature_parent";
  if (!onlyElementsAndWhitespace(signature)) return "signature_content";
  const seq = childSequence(signature);
  if (
    !sameList(seq, ["SignedInfo", "SignatureValue"]) &&
    !sameList(seq, ["SignedInfo", "SignatureValue", "KeyInfo"])
  ) {
    return seq.filter((s) => s === "SignedInfo").length > 1
      ? "several_signed_info"
      : seq.includes("Object")
        ? "object"
        : "signature_children";
  }
  const [signedInfo, signatureValue] = elementChildren(signature) as [Element, Element];

  // No comment or PI anywhere in SignedInfo: canonicalisation would drop them and a digest or an
  // algorithm could then be read differently from what was signed.
  for (const el of [signedInfo, ...descendants(signedInfo)]) {
    for (const n of Array.from(el.childNodes)) {
      if (n.nodeType !== 1 && n.nodeType !== 3 && n.nodeType !== 4) return "signed_info_markup";
    }
  }
  if (!onlyElementsAndWhitespace(signedInfo)) return "signed_info_content";
  const siSeq = childSequence(signedInfo);
  if (!sameList(siSeq, ["CanonicalizationMethod", "SignatureMethod", "Reference"])) {
    return siSeq.filter((s) => s === "Reference").length > 1 ? "several_references" : "signed_info_children";
  }
  const [c14nMethod, sigMethod, reference] = elementChildren(signedInfo) as [Element, Element, Element];
  const c14nKids = elementChildren(c14nMethod);
  if (c14nKids.length > 1 || (c14nKids.length === 1 && !isNamed(c14nKids[0], NS.ec, "InclusiveNamespaces"))) {
    return "canonicalization_method_children";
  }
  if (elementChildren(sigMethod).length > 0) return "signature_method_children";

  const id = attrOf(element, "ID");
  if (id === null || id === "") return "element_without_id";
  if (attrOf(reference, "URI") !== `#${id}`) return "reference_uri";
  if (!onlyElementsAndWhitespace(reference)) return "reference_content";
  if (!sameList(childSequence(reference), ["Transforms", "DigestMethod", "DigestValue"])) {
    return "reference_children";
  }
  const [transforms, digestMethod, digestValue] = elementChildren(reference) as [Element, Element, Element];
  if (!onlyElementsAndWhitespace(transforms)) return "transforms_content";
  const ts = elementChildren(transforms);
  if (ts.length !== 2 || !ts.every((t) => isNamed(t, NS.ds, "Transform"))) return "transform_count";
  const [enveloped, exc] = ts as [Element, Element];
  if (attrOf(enveloped, "Algorithm") !== ENVELOPED_SIGNATURE || attrOf(exc, "Algorithm") !== EXC_C14N) {
    return "transform_order";
  }
  if (elementChildren(enveloped).length > 0) return "transform_children";
  const excKids = elementChildren(exc);
  if (excKids.length > 1 || (excKids.length === 1 && !isNamed(excKids[0], NS.ec, "InclusiveNamespaces"))) {
    return "transform_children";
  }
  if (elementChildren(digestMethod).length > 0) return "digest_method_children";
  if (!isTextOnly(digestValue) || !BASE64_TEXT.test(textOf(digestValue))) return "digest_value";
  if (!isTextOnly(signatureValue) || !BASE64_TEXT.test(textOf(signatureValue))) return "signature_value_text";
  return null;
}

type SignedXmlTables = Pick<
  SignedXml,
  "CanonicalizationAlgorithms" | "HashAlgorithms" | "SignatureAlgorithms"
>;

function pick<T>(table: Record<string, T>, keep: Iterable<string>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of keep) {
    const entry = table[k];
    if (Object.hasOwn(table, k) && entry !== undefined) out[k] = entry;
  }
  return out;
}

function checkWithCertificate(
  message: ParsedXml,
  element: Element,
  signature: Element,
  options: VerifyOptions,
  index: number,
):
  | { ok: true; signedXml: string; signed: ParsedXml; certificateIndex: number }
  | { ok: false; detail: string } {
  const publicCert = options.certificates[index];
  if (publicCert === undefined) return { ok: false, detail: "no_usable_certificate" };
  const sx = new SignedXml({
    publicCert,
    // §7.5: KeyInfo is ignored entirely; only the pinned certificate can verify.
    getCertFromKeyInfo: () => null,
  });
  const tables = sx as unknown as Record<keyof SignedXmlTables, Record<string, unknown>>;
  tables.CanonicalizationAlgorithms = pick(tables.CanonicalizationAlgorithms, [
    EXC_C14N,
    ENVELOPED_SIGNATURE,
  ]);
  tables.HashAlgorithms = pick(tables.HashAlgorithms, options.allow.digestMethods);
  tables.SignatureAlgorithms = pick(tables.SignatureAlgorithms, options.allow.signatureMethods);

  let valid: boolean;
  try {
    sx.loadSignature(signature as unknown as Parameters<SignedXml["loadSignature"]>[0]);
    valid = sx.checkSignature(message.text);
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : "";
    return {
      ok: false,
      detail: msg.startsWith("invalid signature: the signature value") ? "signature_value" : "xml_crypto",
    };
  }
  if (!valid) return { ok: false, detail: "digest" };

  const refs = sx.getSignedReferences();
  const loaded = sx.getReferences();
  const signedXml = only(refs);
  if (signedXml === undefined || loaded.length !== 1) return { ok: false, detail: "signed_reference" };
  let signed: ParsedXml;
  try {
    prescanMarkup(signedXml);
    signed = parseXmlText(signedXml);
  } catch {
    return { ok: false, detail: "signed_reference" };
  }
  const root = signed.root;
  if (
    root.namespaceURI !== element.namespaceURI ||
    root.localName !== element.localName ||
    attrOf(root, "ID") !== attrOf(element, "ID") ||
    signed.doc.documentElement !== root
  ) {
    return { ok: false, detail: "signed_reference" };
  }
  return { ok: true, signedXml, signed, certificateIndex: index };
}

// ---------------------------------------------------------------------------------------------
// HTTP-Redirect binding (SAML bindings §3.4.4.1)

export type RedirectSignatureCheck =
  | { ok: true; certificateIndex: number }
  | { ok: false; failure: "algorithm" | "crypto"; detail: string };

/**
 * Verifies a Redirect-binding signature. `signedOctets` is the raw received query substring
 * `SAMLRequest=…[&RelayState=…]&SigAlg=…` (or `SAMLResponse=…`) exactly as it arrived — never
 * re-encoded; `signature` is the URL-decoded base64 `Signature` value.
 */
export async function verifyRedirectSignature(input: {
  signedOctets: string;
  sigAlg: string;
  signature: string;
  certificates: readonly string[];
  allow: SignatureAllowlist;
}): Promise<RedirectSignatureCheck> {
  const name = sigAlgNameOf(input.sigAlg, input.allow);
  if (name === null) return { ok: false, failure: "algorithm", detail: "sig_alg" };
  let sig: Uint8Array;
  try {
    const s = input.signature.replace(/[\t\n\r ]/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) throw new Error("alphabet");
    sig = base64ToBytes(s);
  } catch {
    return { ok: false, failure: "crypto", detail: "signature_encoding" };
  }
  const data = new TextEncoder().encode(input.signedOctets);
  const jwsAlg = name === "rsa-sha256" ? "RS256" : "RS512";
  for (const [i, certificate] of input.certificates.entries()) {
    try {
      const key = await importX509(certificate, jwsAlg);
      const ok = await crypto.subtle.verify(
        { name: "RSASSA-PKCS1-v1_5", hash: SIG_ALG_HASH[name] } as RsaHashedImportParams,
        key as CryptoKey,
        sig as Uint8Array<ArrayBuffer>,
        data,
      );
      if (ok) return { ok: true, certificateIndex: i };
    } catch {
      // An unusable certificate verifies nothing; try the next one.
    }
  }
  return { ok: false, failure: "crypto", detail: "signature_value" };
}

const BAD = Symbol("bad-encoding");

/** `application/x-www-form-urlencoded` value decoding; `BAD` for malformed percent-encoding. */
function urlDecode(v: string | undefined): string | null | typeof BAD {
  if (v === undefined) return null;
  try {
    return decodeURIComponent(v.replace(/\+/g, " "));
  } catch {
    return BAD;
  }
}

export interface RedirectQuery {
  /** `SAMLRequest` or `SAMLResponse`. */
  parameter: "SAMLRequest" | "SAMLResponse";
  /** URL-decoded message (base64 of raw DEFLATE). */
  message: string;
  relayState: string | null;
  sigAlg: string | null;
  signature: string | null;
  /** The signed octets, built from the raw substrings in the order the binding fixes. */
  signedOctets: string | null;
}

/**
 * Splits a raw query string (without `?`) for the Redirect binding. Every parameter may appear at
 * most once (a repeated one → `null`), exactly one of `SAMLRequest`/`SAMLResponse` must be present,
 * and values are URL-decoded (`+` is a space) only after the signed octets were taken from the raw
 * substrings.
 */
export function splitRedirectQuery(rawQuery: string): RedirectQuery | null {
  const raw = new Map<string, string>();
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? "" : part.slice(eq + 1);
    let name: string;
    try {
      name = decodeURIComponent(key.replace(/\+/g, " "));
    } catch {
      return null;
    }
    if (raw.has(name)) return null;
    raw.set(name, value);
  }
  const hasReq = raw.has("SAMLRequest");
  const hasRes = raw.has("SAMLResponse");
  if (hasReq === hasRes) return null;
  const parameter = hasReq ? "SAMLRequest" : "SAMLResponse";
  const message = urlDecode(raw.get(parameter));
  const relayState = urlDecode(raw.get("RelayState"));
  const sigAlg = urlDecode(raw.get("SigAlg"));
  const signature = urlDecode(raw.get("Signature"));
  if (message === BAD || relayState === BAD || sigAlg === BAD || signature === BAD) return null;
  if (message === null || message === "") return null;
  let signedOctets: string | null = null;
  if (raw.has("SigAlg")) {
    signedOctets = `${parameter}=${raw.get(parameter)}`;
    if (raw.has("RelayState")) signedOctets += `&RelayState=${raw.get("RelayState")}`;
    signedOctets += `&SigAlg=${raw.get("SigAlg")}`;
  }
  return { parameter, message, relayState, sigAlg, signature, signedOctets };
}
