import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decodeBase64Strict,
  decodeXmlBytes,
  inflateRawLimited,
  inScopeNamespaces,
  isTextOnly,
  MAX_DEPTH,
  parseSamlXml,
  parseXmlText,
  prescanMarkup,
  SAML_MAX_MESSAGE_BYTES,
  SamlInputError,
  textOf,
} from "../../src/saml/xml.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

function kindOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (e instanceof SamlInputError) return e.kind;
    throw e;
  }
}

async function kindOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "ok";
  } catch (e) {
    if (e instanceof SamlInputError) return e.kind;
    throw e;
  }
}

describe("strict base64 (§6.3 P1)", () => {
  it.each([
    ["PGEvPg==", "ok"],
    [" PGEv\r\nPg==\t", "ok"], // ASCII whitespace is removed first
    ["PGEvPg", "base64"], // missing padding
    ["PGEvPg=", "base64"], // wrong padding
    ["PGEv-g==", "base64"], // URL-safe alphabet is not the standard one
    ["PGEv_g==", "base64"],
    ["PGE=vPg=", "base64"], // padding in the middle
    ["QR==", "base64"], // non-canonical: non-zero trailing bits
    ["QQ==", "ok"],
    ["", "base64"],
    ["PGEvPg==\u00a0", "base64"], // NBSP is not ASCII whitespace
  ])("%j → %s", (input, kind) => {
    expect(kindOf(() => decodeBase64Strict(input))).toBe(kind);
  });

  it("decodes exactly", () => {
    expect(new TextDecoder().decode(decodeBase64Strict("PGEvPg=="))).toBe("<a/>");
  });

  it("refuses a decoded size above the limit before decoding", () => {
    const limit = 30;
    expect(kindOf(() => decodeBase64Strict(btoa("x".repeat(30)), limit))).toBe("ok");
    expect(kindOf(() => decodeBase64Strict(btoa("x".repeat(31)), limit))).toBe("size");
    expect(SAML_MAX_MESSAGE_BYTES).toBe(256 * 1024);
    expect(kindOf(() => decodeBase64Strict(btoa("x".repeat(256 * 1024 + 1))))).toBe("size");
  });
});

describe("encoding (§7.2: UTF-8 only)", () => {
  it.each([
    ["plain UTF-8", utf8("<a>é</a>"), "ok"],
    ["UTF-8 BOM", new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("<a/>")]), "ok"],
    ["UTF-16LE BOM", new Uint8Array([0xff, 0xfe, 0x3c, 0, 0x61, 0, 0x2f, 0, 0x3e, 0]), "encoding"],
    ["UTF-16BE BOM", new Uint8Array([0xfe, 0xff, 0, 0x3c, 0, 0x61, 0, 0x2f, 0, 0x3e]), "encoding"],
    ["UTF-16 without BOM (NUL bytes)", new Uint8Array([0x3c, 0, 0x61, 0, 0x2f, 0, 0x3e, 0]), "encoding"],
    ["invalid UTF-8", new Uint8Array([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]), "encoding"],
    ["overlong UTF-8", new Uint8Array([0x3c, 0x61, 0x3e, 0xc0, 0xbc, 0x3c, 0x2f, 0x61, 0x3e]), "encoding"],
    ["declared UTF-8", utf8('<?xml version="1.0" encoding="utf-8"?><a/>'), "ok"],
    ["declared ISO-8859-1", utf8('<?xml version="1.0" encoding="ISO-8859-1"?><a/>'), "encoding"],
    ["declared UTF-16", utf8("<?xml version='1.0' encoding='UTF-16'?><a/>"), "encoding"],
  ])("%s → %s", (_label, bytes, kind) => {
    expect(kindOf(() => decodeXmlBytes(bytes))).toBe(kind);
  });
});

describe("markup pre-scan (§7.2)", () => {
  it.each([
    ['<?xml version="1.0"?><a/>', "ok"],
    ["<!DOCTYPE a><a/>", "markup"],
    ["<!doctype a><a/>", "markup"],
    ['<a/><!ENTITY x "y">', "markup"],
    ["<a><!-- <!DOCTYPE --></a>", "markup"], // blunt on purpose
    ['<?xml-stylesheet href="x"?><a/>', "markup"],
    ["<a><?php echo 1 ?></a>", "markup"],
    [' <?xml version="1.0"?><a/>', "markup"], // the declaration must be at the very start
    ['<?xml version="1.0"?><a/><?pi?>', "markup"],
    ["<a>&lt;?x?&gt;</a>", "ok"],
  ])("%j → %s", (text, kind) => {
    expect(kindOf(() => prescanMarkup(text))).toBe(kind);
  });
});

describe("the single parser (§7.1)", () => {
  const parse = (s: string) => parseSamlXml(utf8(s));

  it.each([
    ["two roots", "<a/><b/>", "parse"],
    ["text after the root", "<a/>x", "parse"],
    ["unbound prefix", "<a><x:b/></a>", "parse"],
    ["unclosed element", "<a><b></a>", "parse"],
    ["duplicate attribute", '<a b="1" b="2"/>', "parse"],
    ["undeclared entity", "<a>&e;</a>", "parse"],
    ["control character", "<a>\u0001</a>", "parse"],
    ["NUL through a character reference", "<a>&#0;</a>", "parse"],
    ["control character reference in an attribute", '<a b="&#x1;"/>', "parse"],
    ["U+FFFE", "<a>\uFFFE</a>", "parse"],
    ["empty document", "", "parse"],
    ["DOCTYPE", "<!DOCTYPE a><a/>", "markup"],
    ["processing instruction inside", "<a><?pi x?></a>", "markup"],
    // XML 1.0 §2.4, which xmldom itself lets through in text (checked before parsing).
    ["bare '&' before a space", "<a>x & y</a>", "parse"],
    ["bare '&' at the end of text", "<a>x&</a>", "parse"],
    ["']]>' in text", "<a>x]]>y</a>", "parse"],
    ["'&' and ']]>' inside a comment", "<a><!-- x & y ]]> --></a>", "ok"],
    ["'&' inside a CDATA section", "<a><![CDATA[x & y]]></a>", "ok"],
    ["references", '<a b="&amp;&#38;&#x26;">&lt;&gt;&quot;&apos;</a>', "ok"],
  ])("%s → %s", (_label, text, kind) => {
    expect(kindOf(() => parse(text))).toBe(kind);
  });

  it("accepts a namespaced document and keeps the exact text", () => {
    const text = '<?xml version="1.0"?>\n<p:r xmlns:p="urn:x"><p:c>v</p:c></p:r>';
    const parsed = parse(text);
    expect(parsed.text).toBe(text);
    expect(parsed.root.localName).toBe("r");
    expect(parsed.root.namespaceURI).toBe("urn:x");
  });

  it("folds only XML 1.0 line ends (U+2028 stays text)", () => {
    const parsed = parse("<a>x\r\ny\u2028z</a>");
    expect(textOf(parsed.root)).toBe("x\ny\u2028z");
  });

  it(`refuses elements nested deeper than ${MAX_DEPTH}`, () => {
    const nest = (d: number) => `${"<a>".repeat(d)}${"</a>".repeat(d)}`;
    expect(kindOf(() => parse(nest(MAX_DEPTH)))).toBe("ok");
    expect(kindOf(() => parse(nest(MAX_DEPTH + 1)))).toBe("parse");
    expect(kindOf(() => parse(nest(30_000)))).toBe("parse");
  });

  it("text-only elements: comments, elements and PIs are not text; CDATA is", () => {
    const r = parseXmlText("<r><a>x<!--c-->y</a><b>x<i/>y</b><c>x<![CDATA[<y>]]></c></r>").root;
    const [a, b, c] = Array.from(r.childNodes) as unknown as [never, never, never];
    expect(isTextOnly(a)).toBe(false);
    expect(isTextOnly(b)).toBe(false);
    expect(isTextOnly(c)).toBe(true);
    expect(textOf(a)).toBe("xy"); // textContent drops the comment: why rule 6 refuses it
    expect(textOf(c)).toBe("x<y>");
  });

  it("parses decrypted plaintext inside a namespace wrapper carrying only the given declarations", () => {
    const parsed = parseSamlXml(utf8("<s:A ID='1'><s:B/></s:A>"), { wrapperNamespaces: { s: "urn:s" } });
    expect(parsed.root.localName).toBe("A");
    expect(parsed.root.namespaceURI).toBe("urn:s");
    expect(parsed.doc.documentElement).not.toBe(parsed.root);
    expect(kindOf(() => parseSamlXml(utf8("<s:A/>")))).toBe("parse");
    expect(kindOf(() => parseSamlXml(utf8("<s:A/><s:B/>"), { wrapperNamespaces: { s: "urn:s" } }))).toBe(
      "parse",
    );
    expect(kindOf(() => parseSamlXml(utf8("<s:A/>text"), { wrapperNamespaces: { s: "urn:s" } }))).toBe(
      "parse",
    );
  });

  it("lists the namespace declarations in scope", () => {
    const r = parseXmlText(
      '<a xmlns="urn:d" xmlns:x="urn:x"><b xmlns:y="urn:y" xmlns:x="urn:x2"><c/></b></a>',
    ).root;
    const c = (r.firstChild as unknown as { firstChild: unknown }).firstChild;
    expect(inScopeNamespaces(c as never)).toEqual({ "": "urn:d", x: "urn:x2", y: "urn:y" });
  });
});

describe("inflateRawLimited (HTTP-Redirect, §7.2)", () => {
  it("inflates raw DEFLATE", async () => {
    const out = await inflateRawLimited(
      new Uint8Array(deflateRawSync(Buffer.from("<samlp:LogoutRequest/>"))),
    );
    expect(new TextDecoder().decode(out)).toBe("<samlp:LogoutRequest/>");
  });

  it("stops a deflate bomb at the cap", async () => {
    const bomb = new Uint8Array(deflateRawSync(Buffer.alloc(64 * 1024 * 1024)));
    expect(bomb.byteLength).toBeLessThan(128 * 1024);
    const started = performance.now();
    expect(await kindOfAsync(() => inflateRawLimited(bomb))).toBe("size");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("accepts exactly the cap and refuses one byte more", async () => {
    const at = new Uint8Array(deflateRawSync(Buffer.alloc(1000, 0x61)));
    expect((await inflateRawLimited(at, 1000)).byteLength).toBe(1000);
    expect(await kindOfAsync(() => inflateRawLimited(at, 999))).toBe("size");
  });

  it.each([
    ["corrupt data", new Uint8Array([0xff, 0xff, 0xff, 0xff])],
    ["zlib header (not raw)", new Uint8Array([0x78, 0x9c, 0x4b, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62])],
    ["empty input", new Uint8Array(0)],
    [
      "truncated stream",
      new Uint8Array(deflateRawSync(Buffer.from("x".repeat(2000) + Math.random()))).slice(0, 8),
    ],
  ])("refuses %s", async (_label, bytes) => {
    expect(await kindOfAsync(() => inflateRawLimited(bytes))).toBe("inflate");
  });
});
