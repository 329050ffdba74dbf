import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";

// The verifier, the WebCrypto decryption and the Web DecompressionStream must behave the same on
// Bun and Deno as on Node (design.md: the core runs on all three).
const root = join(import.meta.dirname, "../..");
const script = "test/saml/support/runtime-check.ts";

const expected = {
  "valid/response.signed.assertion-signed.xml": "ok:alice@example.test",
  "invalid/assertion-attribute-changed-after-signing.xml": "assertion_signature_invalid",
  "invalid/certificate-faking-attacker-keyinfo.xml": "signature_invalid",
  "invalid/xsw3-unsigned-assertion-first.xml": "signature_wrapping_detected",
  "valid/response.encrypted.aes256-cbc.rsa-oaep-mgf1p.xml": "ok:alice@example.test",
  "valid/response.encrypted.aes128-gcm.rsa-oaep-mgf1p.xml": "ok:alice@example.test",
  "valid/response.encrypted.aes256-gcm.rsa-oaep-sha256.xml": "ok:alice@example.test",
  "invalid/encrypted-tampered-gcm-ciphertext.xml": "decrypt_failed",
  "valid/logout-request.redirect.signed.txt": "ok",
  "invalid/logout-request.redirect.deflate-bomb.txt": "request_not_found",
};

function run(runtime: "bun" | "deno" | "node"): unknown {
  const bin = runtimeBinary(runtime) as string;
  const args = runtime === "deno" ? ["run", "--allow-read", "--allow-env", script] : [script];
  const stdout = execFileSync(bin, args, { cwd: root, encoding: "utf8", timeout: 120_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

describe("SAML core on every runtime", () => {
  it.each(["node", "bun", "deno"] as const)("%s gives the same verdicts", (runtime) => {
    expect(run(runtime)).toEqual(expected);
  });
});
