import { constants, createCipheriv, createDecipheriv, publicEncrypt, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  aesCbcDecryptNoPadding,
  createDecryptionKey,
  decryptEncryptedAssertion,
} from "../../src/saml/decrypt.ts";
import { parseXmlText } from "../../src/saml/xml.ts";
import { keyFile } from "./support/corpus.ts";

const XENC = "http://www.w3.org/2001/04/xmlenc#";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const U = {
  gcm128: "http://www.w3.org/2009/xmlenc11#aes128-gcm",
  gcm256: "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  cbc128: "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
  cbc256: "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
  cbc192: "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
  tripledes: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
  mgf1p: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
  oaep11: "http://www.w3.org/2009/xmlenc11#rsa-oaep",
  rsa15: "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
  sha1: "http://www.w3.org/2000/09/xmldsig#sha1",
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  mgf1sha256: "http://www.w3.org/2009/xmlenc11#mgf1sha256",
  mgf1sha1: "http://www.w3.org/2009/xmlenc11#mgf1sha1",
  mgf1sha512: "http://www.w3.org/2009/xmlenc11#mgf1sha512",
};

const SP = createDecryptionKey(keyFile("sp-encryption", "key")); // a PKCS#1 PEM on purpose
const OTHER = createDecryptionKey(keyFile("sp-other", "key"));
const PLAINTEXT =
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x">é ✓</saml:Assertion>';

interface Build {
  content?: string;
  transport?: string;
  /** OAEP hash used to wrap; "sha1" or "sha256". */
  oaep?: "sha1" | "sha256";
  methodChildren?: string;
  label?: Buffer;
  keyBytes?: number;
  padByte?: number;
  padLength?: number;
  mutate?: (value: Buffer) => Buffer;
  mutateWrapped?: (value: Buffer) => Buffer;
  cert?: string;
  placement?: "keyinfo" | "sibling" | "both" | "none";
  dataAttrs?: string;
  plaintext?: string;
}

function encrypt(b: Build = {}): string {
  const content = b.content ?? U.gcm256;
  const keyLen = b.keyBytes ?? (content.includes("128") ? 16 : 32);
  const key = randomBytes(keyLen);
  const plain = Buffer.from(b.plaintext ?? PLAINTEXT);
  let value: Buffer;
  if (content.endsWith("gcm")) {
    const iv = randomBytes(12);
    const c = createCipheriv(`aes-${keyLen * 8}-gcm` as "aes-256-gcm", key, iv);
    value = Buffer.concat([iv, c.update(plain), c.final(), c.getAuthTag()]);
  } else {
    const iv = randomBytes(16);
    const padLen = b.padLength ?? 16 - (plain.length % 16);
    const pad = randomBytes(padLen);
    pad[padLen - 1] = b.padByte ?? padLen;
    const c = createCipheriv(`aes-${keyLen * 8}-cbc` as "aes-256-cbc", key, iv).setAutoPadding(false);
    value = Buffer.concat([iv, c.update(Buffer.concat([plain, pad])), c.final()]);
  }
  if (b.mutate) value = b.mutate(value);
  const oaep = b.oaep ?? "sha1";
  let wrapped: Buffer = publicEncrypt(
    {
      key: b.cert ?? keyFile("sp-encryption", "crt"),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: oaep,
      ...(b.label ? { oaepLabel: b.label } : {}),
    },
    key,
  );
  if (b.mutateWrapped) wrapped = b.mutateWrapped(wrapped);
  const transport = b.transport ?? (oaep === "sha256" ? U.oaep11 : U.mgf1p);
  const methodChildren =
    b.methodChildren ??
    (oaep === "sha256"
      ? `<ds:DigestMethod Algorithm="${U.sha256}"/><xenc11:MGF Algorithm="${U.mgf1sha256}"/>`
      : "") + (b.label ? `<xenc:OAEPparams>${b.label.toString("base64")}</xenc:OAEPparams>` : "");
  const ek =
    `<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${transport}">${methodChildren}</xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`;
  const placement = b.placement ?? "keyinfo";
  const keyInfo = placement === "keyinfo" || placement === "both" ? `<ds:KeyInfo>${ek}</ds:KeyInfo>` : "";
  const sibling = placement === "sibling" || placement === "both" ? ek : "";
  return (
    `<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xenc="${XENC}" xmlns:ds="${DS}" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#">` +
    `<xenc:EncryptedData ${b.dataAttrs ?? `Type="${XENC}Element"`}><xenc:EncryptionMethod Algorithm="${content}"/>${keyInfo}` +
    `<xenc:CipherData><xenc:CipherValue>${value.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>${sibling}` +
    "</saml:EncryptedAssertion>"
  );
}

async function run(xml: string, keys = [SP]) {
  const r = await decryptEncryptedAssertion(parseXmlText(xml).root, keys);
  return r.ok ? { ok: true as const, text: new TextDecoder().decode(r.plaintext) } : r;
}

describe("EncryptedAssertion decryption (§7.9)", () => {
  const contents = [
    ["AES-128-GCM", U.gcm128],
    ["AES-256-GCM", U.gcm256],
    ["AES-128-CBC", U.cbc128],
    ["AES-256-CBC", U.cbc256],
  ] as const;
  const transports = [
    ["RSA-OAEP-MGF1P (SHA-1)", "sha1"],
    ["xmlenc11 RSA-OAEP (SHA-256, MGF1-SHA-256)", "sha256"],
  ] as const;

  for (const [cName, content] of contents) {
    for (const [tName, oaep] of transports) {
      it(`decrypts ${cName} with ${tName}`, async () => {
        expect(await run(encrypt({ content, oaep }))).toEqual({ ok: true, text: PLAINTEXT });
      });
    }
  }

  it.each([1, 7, 16])(
    "removes XML-Enc padding of %i byte(s) without checking the pad bytes",
    async (padLength) => {
      const plaintext = `${PLAINTEXT}${"x".repeat((64 - Buffer.byteLength(PLAINTEXT) - padLength + 64) % 16)}`;
      const len = Buffer.byteLength(plaintext);
      expect((len + padLength) % 16).toBe(0);
      expect(await run(encrypt({ content: U.cbc128, plaintext, padLength }))).toEqual({
        ok: true,
        text: plaintext,
      });
    },
  );

  it("accepts an EncryptedKey next to EncryptedData", async () => {
    expect(await run(encrypt({ placement: "sibling" }))).toMatchObject({ ok: true });
  });

  it("honours explicit SHA-1 DigestMethod / MGF1-SHA-1 and an OAEP label", async () => {
    expect(await run(encrypt({ methodChildren: `<ds:DigestMethod Algorithm="${U.sha1}"/>` }))).toMatchObject({
      ok: true,
    });
    expect(
      await run(
        encrypt({
          transport: U.oaep11,
          methodChildren: `<ds:DigestMethod Algorithm="${U.sha1}"/><xenc11:MGF Algorithm="${U.mgf1sha1}"/>`,
        }),
      ),
    ).toMatchObject({ ok: true });
    const label = Buffer.from("tikti-label");
    expect(await run(encrypt({ label }))).toMatchObject({ ok: true });
    const other = encrypt({ label }).replace(
      label.toString("base64"),
      Buffer.from("other-label").toString("base64"),
    );
    expect(await run(other)).toEqual({ ok: false, reason: "decrypt_failed", detail: "unwrap" });
  });

  it("tries each published SP key in order (rotation)", async () => {
    const xml = encrypt();
    expect(await run(xml, [OTHER, SP])).toMatchObject({ ok: true });
    expect(await run(xml, [OTHER])).toEqual({ ok: false, reason: "decrypt_failed", detail: "unwrap" });
    expect(await run(xml, [])).toEqual({ ok: false, reason: "decrypt_failed", detail: "unwrap" });
  });

  const flip = (at: number) => (v: Buffer) => {
    const c = Buffer.from(v);
    c[at < 0 ? c.length + at : at]! ^= 0x01;
    return c;
  };

  it.each([
    ["GCM ciphertext bit", { content: U.gcm256, mutate: flip(20) }, "content"],
    ["GCM tag bit", { content: U.gcm128, mutate: flip(-1) }, "content"],
    ["GCM IV bit", { content: U.gcm128, mutate: flip(0) }, "content"],
    [
      "GCM truncated below IV + tag",
      { content: U.gcm128, mutate: (v: Buffer) => v.subarray(0, 27) },
      "content",
    ],
    ["CBC pad length 0", { content: U.cbc256, padByte: 0 }, "content"],
    ["CBC pad length 17", { content: U.cbc256, padByte: 17 }, "content"],
    [
      "CBC length not a block multiple",
      { content: U.cbc128, mutate: (v: Buffer) => v.subarray(0, v.length - 1) },
      "content",
    ],
    ["CBC only an IV", { content: U.cbc128, mutate: (v: Buffer) => v.subarray(0, 16) }, "content"],
    ["wrapped key bit", { mutateWrapped: flip(10) }, "unwrap"],
    ["key for another SP", { cert: keyFile("sp-other", "crt") }, "unwrap"],
    ["unwrapped key of the wrong size", { content: U.gcm256, keyBytes: 16 }, "unwrap"],
    ["EncryptedKey twice", { placement: "both" as const }, "encrypted_key_count"],
    ["no EncryptedKey", { placement: "none" as const }, "encrypted_key_count"],
    ["Type=Content", { dataAttrs: `Type="${XENC}Content"` }, "data_type"],
  ])("%s → decrypt_failed (%s)", async (_label, build, detail) => {
    expect(await run(encrypt(build))).toEqual({ ok: false, reason: "decrypt_failed", detail });
  });

  it("refuses a CBC padding failure with the same reason as a failed unwrap (one decrypt_failed)", async () => {
    const a = await run(encrypt({ content: U.cbc128, padByte: 0 }));
    const b = await run(encrypt({ cert: keyFile("sp-other", "crt") }));
    expect(a.ok || a.reason).toBe("decrypt_failed");
    expect(b.ok || b.reason).toBe("decrypt_failed");
  });

  it.each([
    ["AES-192-CBC", { content: U.cbc192, keyBytes: 24 }],
    ["Triple-DES", { content: U.tripledes, keyBytes: 32 }],
    ["rsa-1_5 key transport", { transport: U.rsa15 }],
    [
      "mgf1p with a SHA-256 digest (MGF1 stays SHA-1)",
      { methodChildren: `<ds:DigestMethod Algorithm="${U.sha256}"/>` },
    ],
    [
      "rsa-oaep with SHA-1 digest and MGF1-SHA-256",
      {
        transport: U.oaep11,
        methodChildren: `<ds:DigestMethod Algorithm="${U.sha1}"/><xenc11:MGF Algorithm="${U.mgf1sha256}"/>`,
      },
    ],
    ["MGF1-SHA-512", { transport: U.oaep11, methodChildren: `<xenc11:MGF Algorithm="${U.mgf1sha512}"/>` }],
    [
      "MD5 OAEP digest",
      { methodChildren: '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/>' },
    ],
  ])("%s → algorithm_disallowed, decided from the URIs alone", async (_label, build) => {
    const r = await run(encrypt(build as Build));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe("algorithm_disallowed");
  });

  it("refuses ciphertext by reference", async () => {
    const xml = encrypt().replace(
      /<xenc:CipherData><xenc:CipherValue>[^<]*<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>/,
      '<xenc:CipherData><xenc:CipherReference URI="https://evil.test/x"/></xenc:CipherData></xenc:EncryptedData>',
    );
    expect(await run(xml)).toEqual({ ok: false, reason: "decrypt_failed", detail: "cipher_value" });
  });
});

describe("AES-CBC without PKCS#7 check (WebCrypto)", () => {
  it("matches a padding-free decipher for random data of several lengths", async () => {
    for (const blocks of [1, 2, 5, 64]) {
      const keyBytes = randomBytes(32);
      const iv = randomBytes(16);
      const ct = randomBytes(blocks * 16); // random ciphertext: almost never valid PKCS#7 plaintext
      const d = createDecipheriv("aes-256-cbc", keyBytes, iv).setAutoPadding(false);
      const expected = Buffer.concat([d.update(ct), d.final()]);
      const key = await crypto.subtle.importKey("raw", keyBytes, "AES-CBC", false, ["encrypt", "decrypt"]);
      const got = await aesCbcDecryptNoPadding(key, iv, ct);
      expect(Buffer.from(got).equals(expected)).toBe(true);
    }
  });
});
