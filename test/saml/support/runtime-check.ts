// Run under Bun or Deno by test/saml/runtimes.test.ts: validates a few fixtures through the same
// pipeline (xml-crypto over node:crypto compat, WebCrypto RSA-OAEP/AES-GCM/AES-CBC, the Web
// DecompressionStream) and prints the verdicts as one JSON line.
import { manifest, runCase } from "./corpus.ts";

const rows: Array<[string, string]> = [
  ["valid/response.signed.assertion-signed.xml", "ok"],
  ["invalid/assertion-attribute-changed-after-signing.xml", "assertion_signature_invalid"],
  ["invalid/certificate-faking-attacker-keyinfo.xml", "signature_invalid"],
  ["invalid/xsw3-unsigned-assertion-first.xml", "signature_wrapping_detected"],
  ["valid/response.encrypted.aes256-cbc.rsa-oaep-mgf1p.xml", "ok"],
  ["valid/response.encrypted.aes128-gcm.rsa-oaep-mgf1p.xml", "ok"],
  ["valid/response.encrypted.aes256-gcm.rsa-oaep-sha256.xml", "ok"],
  ["invalid/encrypted-tampered-gcm-ciphertext.xml", "decrypt_failed"],
  ["valid/logout-request.redirect.signed.txt", "ok"],
  ["invalid/logout-request.redirect.deflate-bomb.txt", "request_not_found"],
];

const out: Record<string, string> = {};
for (const [file, reason] of rows) {
  const c = manifest.cases.find((x) => x.file === file && x.reason === reason);
  if (!c) throw new Error(`no manifest row for ${file}`);
  const r = await runCase(c);
  out[file] = r.reason === "ok" && r.assertion ? `ok:${r.assertion.nameId}` : r.reason;
}
console.log(JSON.stringify(out));
