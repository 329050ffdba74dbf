import { toPem } from "../../src/crypto/pem.ts";

/** A fresh RSA private key as PKCS#8 PEM (tests only). */
export async function generateRsaPem(bits = 2048): Promise<string> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return toPem(der, "PRIVATE KEY");
}

export function randomSecret(bytes = 48): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Buffer.from(b).toString("base64url");
}
