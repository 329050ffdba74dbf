/**
 * `EncryptedAssertion` decryption (docs/spec/saml.md §3, §7.9) with WebCrypto only, so it runs the same
 * on Node, Bun and Deno.
 *
 * - Structure: one `xenc:EncryptedData` (Type, when present, `#Element`) and exactly one
 *   `xenc:EncryptedKey`, inside `EncryptedData/ds:KeyInfo` or as a sibling inside
 *   `EncryptedAssertion`; ciphertext inline (`CipherValue`), never by reference.
 * - Algorithms (decided from the declared URIs alone, before any decryption): key transport
 *   RSA-OAEP (`rsa-oaep-mgf1p`, or xmlenc11 `rsa-oaep` with MGF1) with an OAEP digest of SHA-1 or
 *   SHA-256; WebCrypto uses one hash for both the digest and MGF1, so a mixed pair (e.g. SHA-256
 *   digest with MGF1-SHA-1) is refused as `algorithm_disallowed`. Content: AES-128/256-GCM
 *   (12-byte IV ‖ ciphertext ‖ 16-byte tag) and AES-128/256-CBC (16-byte IV ‖ ciphertext) with
 *   XML Encryption padding — the last byte is the pad length 1–16 and the other pad bytes are
 *   arbitrary, so WebCrypto's PKCS#7 check is bypassed (see `aesCbcDecryptNoPadding`).
 * - Every failure after the algorithm check (unwrap, tag, padding, sizes) is the same
 *   `decrypt_failed`; a failed unwrap still runs the content decryption with a random key so the
 *   two failures take about the same time.
 *
 * The plaintext is returned as bytes. It is not trusted content: the caller runs it through the
 * input hygiene and parser of xml.ts, the shape rules, and requires the assertion's own signature.
 */
import type { Element } from "@xmldom/xmldom";
import { base64ToBytes, toPkcs8Pem } from "../crypto/pem.ts";
import { only } from "../must.ts";
import {
  CONTENT_CIPHERS,
  type ContentCipher,
  KEY_TRANSPORT,
  MGF_URI,
  OAEP_DIGEST_URI,
} from "./algorithms.ts";
import {
  attrOf,
  childrenNamed,
  decodeBase64Strict,
  descendantsNamed,
  elementChildren,
  isNamed,
  isTextOnly,
  NS,
  SAML_MAX_MESSAGE_BYTES,
  SamlInputError,
  textOf,
} from "./xml.ts";

type OaepHash = "SHA-1" | "SHA-256";

/**
 * An SP decryption key (one published encryption pair, §13). `SpKeyPair` of sp-keys.ts satisfies
 * it, so the caller passes the published pairs directly.
 */
export interface DecryptionKey {
  /** The RSA-OAEP private key for one OAEP digest (imported once per digest). */
  oaepKey(hash: OaepHash): Promise<CryptoKey>;
}

/** Builds a decryption key from a PKCS#8 or PKCS#1 RSA private key PEM. */
export function createDecryptionKey(privateKeyPem: string): DecryptionKey {
  const pkcs8 = toPkcs8Pem(privateKeyPem);
  const body = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(pkcs8)?.[1];
  if (body === undefined) throw new TypeError("decryption key: expected an RSA private key PEM");
  const der = base64ToBytes(body.replace(/\s+/g, ""));
  const cache = new Map<OaepHash, Promise<CryptoKey>>();
  return {
    oaepKey(hash) {
      let p = cache.get(hash);
      if (!p) {
        p = crypto.subtle.importKey(
          "pkcs8",
          der as Uint8Array<ArrayBuffer>,
          { name: "RSA-OAEP", hash },
          false,
          ["decrypt"],
        );
        cache.set(hash, p);
      }
      return p;
    },
  };
}

export type DecryptResult =
  | { ok: true; plaintext: Uint8Array; contentAlgorithm: string; keyTransport: string }
  | { ok: false; reason: "algorithm_disallowed" | "decrypt_failed"; detail: string };

interface KeyTransport {
  uri: string;
  hash: OaepHash;
  label: Uint8Array | null;
  cipherValue: Element;
}

const ENCRYPTED_DATA_CHILDREN = new Set([
  "EncryptionMethod",
  "KeyInfo",
  "CipherData",
  "EncryptionProperties",
]);

/** Decrypts the content of an `EncryptedAssertion` element; see the file header. */
export async function decryptEncryptedAssertion(
  encryptedAssertion: Element,
  keys: readonly DecryptionKey[],
): Promise<DecryptResult> {
  const disallowed = (detail: string): DecryptResult => ({
    ok: false,
    reason: "algorithm_disallowed",
    detail,
  });
  const failed = (detail: string): DecryptResult => ({ ok: false, reason: "decrypt_failed", detail });

  if (!isNamed(encryptedAssertion, NS.assertion, "EncryptedAssertion"))
    return failed("not_encrypted_assertion");
  const kids = elementChildren(encryptedAssertion);
  const data = only(kids.filter((e) => isNamed(e, NS.xenc, "EncryptedData")));
  if (data === undefined) return failed("encrypted_data_count");
  if (kids.some((e) => !isNamed(e, NS.xenc, "EncryptedData") && !isNamed(e, NS.xenc, "EncryptedKey"))) {
    return failed("encrypted_assertion_children");
  }

  // Algorithms first: they depend only on declared URIs (§7.9 step 2).
  const method = singleNamed(data, NS.xenc, "EncryptionMethod");
  const contentUri = method ? attrOf(method, "Algorithm") : null;
  if (contentUri === null) return failed("content_method");
  const cipher = Object.hasOwn(CONTENT_CIPHERS, contentUri) ? CONTENT_CIPHERS[contentUri] : undefined;
  if (cipher === undefined) return disallowed("content_algorithm");

  const keyInfo = singleNamed(data, NS.ds, "KeyInfo");
  const encryptedKeys = [
    ...(keyInfo ? childrenNamed(keyInfo, NS.xenc, "EncryptedKey") : []),
    ...kids.filter((e) => isNamed(e, NS.xenc, "EncryptedKey")),
  ];
  for (const ek of encryptedKeys) {
    const verdict = keyTransportOf(ek);
    if (verdict === "disallowed") return disallowed("key_transport_algorithm");
  }

  // Structure.
  if (data.hasAttributeNS(null, "Type") && attrOf(data, "Type") !== `${NS.xenc}Element`)
    return failed("data_type");
  if (
    elementChildren(data).some(
      (e) =>
        !(e.namespaceURI === NS.xenc || e.namespaceURI === NS.ds) ||
        !ENCRYPTED_DATA_CHILDREN.has(e.localName ?? ""),
    )
  ) {
    return failed("encrypted_data_children");
  }
  const encryptedKey = only(encryptedKeys);
  if (
    encryptedKey === undefined ||
    descendantsNamed(encryptedAssertion, NS.xenc, "EncryptedKey").length !== 1
  ) {
    return failed("encrypted_key_count");
  }
  const transport = keyTransportOf(encryptedKey);
  if (transport === "disallowed" || transport === "malformed") return failed("encrypted_key");
  const wrapped = cipherBytes(transport.cipherValue);
  const content = cipherBytes(cipherValueOf(data));
  if (wrapped === null || content === null) return failed("cipher_value");

  // Unwrap with each published SP key in order (§13); on failure continue with a random key.
  let contentKey: Uint8Array | null = null;
  for (const key of keys) {
    try {
      const params: RsaOaepParams = { name: "RSA-OAEP" };
      if (transport.label) params.label = transport.label as Uint8Array<ArrayBuffer>;
      const raw = new Uint8Array(
        await crypto.subtle.decrypt(
          params,
          await key.oaepKey(transport.hash),
          wrapped as Uint8Array<ArrayBuffer>,
        ),
      );
      if (raw.byteLength === cipher.keyBytes) {
        contentKey = raw;
        break;
      }
    } catch {
      // Wrong key or corrupt wrapped key: try the next published pair.
    }
  }
  const unwrapped = contentKey !== null;
  const plaintext = await decryptContent(
    cipher,
    contentKey ?? crypto.getRandomValues(new Uint8Array(cipher.keyBytes)),
    content,
  );
  if (!unwrapped) return failed("unwrap");
  if (plaintext === null) return failed("content");
  if (plaintext.byteLength === 0 || plaintext.byteLength > SAML_MAX_MESSAGE_BYTES)
    return failed("plaintext_size");
  return { ok: true, plaintext, contentAlgorithm: contentUri, keyTransport: transport.uri };
}

function singleNamed(parent: Element, ns: string, local: string): Element | null {
  return only(childrenNamed(parent, ns, local)) ?? null;
}

function cipherValueOf(holder: Element): Element | null {
  const cd = singleNamed(holder, NS.xenc, "CipherData");
  if (!cd || elementChildren(cd).length !== 1) return null;
  return singleNamed(cd, NS.xenc, "CipherValue");
}

function cipherBytes(cv: Element | null): Uint8Array | null {
  if (!cv || !isTextOnly(cv)) return null;
  try {
    return decodeBase64Strict(textOf(cv), SAML_MAX_MESSAGE_BYTES + 64);
  } catch (e) {
    if (e instanceof SamlInputError) return null;
    throw e;
  }
}

/** Reads the key transport of an `EncryptedKey`: its algorithm verdict, OAEP hash and label. */
function keyTransportOf(ek: Element): KeyTransport | "disallowed" | "malformed" {
  const method = singleNamed(ek, NS.xenc, "EncryptionMethod");
  if (!method) return "malformed";
  const uri = attrOf(method, "Algorithm");
  if (uri !== KEY_TRANSPORT.rsaOaepMgf1p && uri !== KEY_TRANSPORT.rsaOaep) return "disallowed";

  const digests = childrenNamed(method, NS.ds, "DigestMethod");
  const mgfs = childrenNamed(method, NS.xenc11, "MGF");
  const params = childrenNamed(method, NS.xenc, "OAEPparams");
  if (digests.length > 1 || mgfs.length > 1 || params.length > 1) return "malformed";
  const digestUri = digests[0] ? attrOf(digests[0], "Algorithm") : OAEP_DIGEST_URI.sha1;
  let digest: OaepHash;
  if (digestUri === OAEP_DIGEST_URI.sha1) digest = "SHA-1";
  else if (digestUri === OAEP_DIGEST_URI.sha256) digest = "SHA-256";
  else return "disallowed";

  // rsa-oaep-mgf1p fixes MGF1 with SHA-1; xmlenc11 rsa-oaep names it (default MGF1-SHA-1).
  let mgf: OaepHash = "SHA-1";
  if (mgfs[0]) {
    if (uri !== KEY_TRANSPORT.rsaOaep) return "disallowed";
    const m = attrOf(mgfs[0], "Algorithm");
    if (m === MGF_URI.mgf1sha1) mgf = "SHA-1";
    else if (m === MGF_URI.mgf1sha256) mgf = "SHA-256";
    else return "disallowed";
  }
  if (mgf !== digest) return "disallowed";

  let label: Uint8Array | null = null;
  if (params[0]) {
    const bytes = cipherBytes(params[0]);
    if (bytes === null) return "malformed";
    label = bytes;
  }
  const cv = cipherValueOf(ek);
  if (!cv) return "malformed";
  return { uri, hash: digest, label, cipherValue: cv };
}

async function decryptContent(
  cipher: ContentCipher,
  keyBytes: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array | null> {
  try {
    if (cipher.mode === "AES-GCM") {
      if (data.byteLength < 12 + 16) return null;
      const key = await crypto.subtle.importKey(
        "raw",
        keyBytes as Uint8Array<ArrayBuffer>,
        "AES-GCM",
        false,
        ["decrypt"],
      );
      const out = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: data.slice(0, 12), tagLength: 128 },
        key,
        data.slice(12),
      );
      return new Uint8Array(out);
    }
    if (data.byteLength < 32 || data.byteLength % 16 !== 0) return null;
    const key = await crypto.subtle.importKey("raw", keyBytes as Uint8Array<ArrayBuffer>, "AES-CBC", false, [
      "encrypt",
      "decrypt",
    ]);
    const padded = await aesCbcDecryptNoPadding(key, data.slice(0, 16), data.slice(16));
    // XML Encryption padding (§7.9 step 3): remove `last byte` bytes, 1–16, without checking the others.
    const n = padded.at(-1);
    if (n === undefined || n < 1 || n > 16 || n > padded.byteLength) return null;
    return padded.slice(0, padded.byteLength - n);
  } catch {
    return null;
  }
}

/**
 * AES-CBC decryption without a padding check. WebCrypto insists on PKCS#7, which XML Encryption
 * padding (random bytes, last byte = length) rarely satisfies. So one extra block E is appended
 * whose decryption is a full PKCS#7 pad block: E = AES_K(0x10×16 ⊕ C_last), which is the first
 * block of CBC-encrypting 0x10×16 with IV = C_last. WebCrypto then strips exactly that block and
 * returns the raw plaintext of the original ciphertext.
 */
export async function aesCbcDecryptNoPadding(
  key: CryptoKey,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const lastBlock = ciphertext.slice(ciphertext.byteLength - 16);
  const fullPad = new Uint8Array(16).fill(16);
  const e = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-CBC", iv: lastBlock }, key, fullPad),
  ).slice(0, 16);
  const extended = new Uint8Array(ciphertext.byteLength + 16);
  extended.set(ciphertext);
  extended.set(e, ciphertext.byteLength);
  return new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-CBC", iv: iv as Uint8Array<ArrayBuffer> }, key, extended),
  );
}
