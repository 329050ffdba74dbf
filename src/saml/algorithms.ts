/**
 * Algorithm URIs and the allowlists of docs/spec/saml.md §3 and §7.6.
 *
 * The allowlist is closed: configuration may narrow it (`sp.allowedSigAlgs`,
 * `sp.allowedDigestAlgs`) but never widen it beyond rsa-sha256/rsa-sha512 and sha256/sha512.
 * Everything else — RSA-SHA1, SHA-1 and MD5 digests, HMAC, DSA, inclusive C14N, `#WithComments`,
 * XPath/XSLT transforms, rsa-1_5, Triple-DES — is `algorithm_disallowed`.
 */

export type SigAlgName = "rsa-sha256" | "rsa-sha512";
export type DigestAlgName = "sha256" | "sha512";

export const SIG_ALG_URI: Readonly<Record<SigAlgName, string>> = {
  "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
};

export const DIGEST_ALG_URI: Readonly<Record<DigestAlgName, string>> = {
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  sha512: "http://www.w3.org/2001/04/xmlenc#sha512",
};

/** The WebCrypto hash behind each signature algorithm (HTTP-Redirect `SigAlg`, RSASSA-PKCS1-v1_5). */
export const SIG_ALG_HASH: Readonly<Record<SigAlgName, "SHA-256" | "SHA-512">> = {
  "rsa-sha256": "SHA-256",
  "rsa-sha512": "SHA-512",
};

export const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/** Key transport (§3). SHA-1 inside OAEP is accepted: it is not used as a signature hash. */
export const KEY_TRANSPORT = {
  rsaOaepMgf1p: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
  rsaOaep: "http://www.w3.org/2009/xmlenc11#rsa-oaep",
} as const;

/** OAEP digest (`ds:DigestMethod` inside `EncryptionMethod`) and mask generation (`xenc11:MGF`). */
export const OAEP_DIGEST_URI = {
  sha1: "http://www.w3.org/2000/09/xmldsig#sha1",
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
} as const;

export const MGF_URI = {
  mgf1sha1: "http://www.w3.org/2009/xmlenc11#mgf1sha1",
  mgf1sha256: "http://www.w3.org/2009/xmlenc11#mgf1sha256",
} as const;

export interface ContentCipher {
  mode: "AES-GCM" | "AES-CBC";
  keyBytes: 16 | 32;
}

/** Content encryption (§3). */
export const CONTENT_CIPHERS: Readonly<Record<string, ContentCipher>> = {
  "http://www.w3.org/2009/xmlenc11#aes128-gcm": { mode: "AES-GCM", keyBytes: 16 },
  "http://www.w3.org/2009/xmlenc11#aes256-gcm": { mode: "AES-GCM", keyBytes: 32 },
  "http://www.w3.org/2001/04/xmlenc#aes128-cbc": { mode: "AES-CBC", keyBytes: 16 },
  "http://www.w3.org/2001/04/xmlenc#aes256-cbc": { mode: "AES-CBC", keyBytes: 32 },
};

/** The effective allowlists, as URIs, for one validation. */
export interface SignatureAllowlist {
  signatureMethods: ReadonlySet<string>;
  digestMethods: ReadonlySet<string>;
}

/**
 * Builds the URI allowlist from configuration names. Unknown names are ignored rather than
 * trusted, so a bad configuration can only narrow the list; an empty result refuses everything.
 */
export function signatureAllowlist(
  sigAlgs: readonly string[] = ["rsa-sha256"],
  digestAlgs: readonly string[] = ["sha256"],
): SignatureAllowlist {
  const signatureMethods = new Set<string>();
  for (const name of sigAlgs) {
    if (Object.hasOwn(SIG_ALG_URI, name)) signatureMethods.add(SIG_ALG_URI[name as SigAlgName]);
  }
  const digestMethods = new Set<string>();
  for (const name of digestAlgs) {
    if (Object.hasOwn(DIGEST_ALG_URI, name)) digestMethods.add(DIGEST_ALG_URI[name as DigestAlgName]);
  }
  return { signatureMethods, digestMethods };
}

/** The configuration name of an allowed signature URI, or `null` when it is not in the list. */
export function sigAlgNameOf(uri: string, allow: SignatureAllowlist): SigAlgName | null {
  if (!allow.signatureMethods.has(uri)) return null;
  for (const [name, u] of Object.entries(SIG_ALG_URI)) if (u === uri) return name as SigAlgName;
  return null;
}
