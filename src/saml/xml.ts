/**
 * The single XML parser for inbound SAML messages and IdP metadata, and its input hygiene
 * (docs/spec/saml.md §7.1, §7.2, §12.2).
 *
 * Every inbound message — Response, decrypted Assertion, LogoutRequest, LogoutResponse — every
 * signed reference returned by the verifier and every IdP metadata document (with its own size
 * cap, src/saml/metadata.ts) is parsed here, once, by `@xmldom/xmldom` with an error
 * handler that turns warnings, errors and fatal errors into a refusal. Before parsing, the bytes
 * must be UTF-8 and pass a markup pre-scan (no DOCTYPE, no entity declarations, no processing
 * instruction other than the XML declaration). Nothing else in the code base reads identity data
 * out of an inbound message or metadata: no regular expression, no second parser (fast-xml-parser
 * only builds outbound XML).
 *
 * Failures are thrown as `SamlInputError` with a `kind`; the pipelines translate kinds into
 * reason codes (`base64`/`size`/`inflate`/`parse` → `request_not_found`, `encoding`/`markup` →
 * `xxe_detected` on the ACS, plain 400 on SLO).
 */

import type { Document, Element, Node } from "@xmldom/xmldom";
import { DOMParser } from "@xmldom/xmldom";
import { concatBytes } from "../bytes.ts";

/** §7.2: decoded messages, inflated Redirect messages and decrypted plaintext are capped at 256 KiB. */
export const SAML_MAX_MESSAGE_BYTES = 256 * 1024;

export const NS = {
  protocol: "urn:oasis:names:tc:SAML:2.0:protocol",
  assertion: "urn:oasis:names:tc:SAML:2.0:assertion",
  ds: "http://www.w3.org/2000/09/xmldsig#",
  xenc: "http://www.w3.org/2001/04/xmlenc#",
  xenc11: "http://www.w3.org/2009/xmlenc11#",
  ec: "http://www.w3.org/2001/10/xml-exc-c14n#",
  xmlns: "http://www.w3.org/2000/xmlns/",
} as const;

export type SamlInputErrorKind = "base64" | "size" | "inflate" | "encoding" | "markup" | "parse";

export class SamlInputError extends Error {
  readonly kind: SamlInputErrorKind;
  constructor(kind: SamlInputErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SamlInputError";
    this.kind = kind;
  }
}

// ---------------------------------------------------------------------------------------------
// Transport decoding

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;
// ASCII whitespace per the WHATWG infra spec (tab, LF, FF, CR, space).
const ASCII_WHITESPACE = /[\t\n\f\r ]/g;

/**
 * Strict base64 (§6.3 P1): ASCII whitespace is removed first; then only the standard alphabet,
 * correct `=` padding (length a multiple of 4) and a canonical encoding (zero trailing bits) are
 * accepted. The decoded size is checked before decoding.
 */
export function decodeBase64Strict(input: string, maxBytes: number = SAML_MAX_MESSAGE_BYTES): Uint8Array {
  const s = input.replace(ASCII_WHITESPACE, "");
  if (s.length === 0 || s.length % 4 !== 0) throw new SamlInputError("base64", "base64 length");
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  if (!BASE64_BODY.test(s.slice(0, s.length - pad))) throw new SamlInputError("base64", "base64 alphabet");
  const size = (s.length / 4) * 3 - pad;
  if (size > maxBytes) throw new SamlInputError("size", "decoded message too large");
  let bin: string;
  try {
    bin = atob(s);
  } catch (cause) {
    throw new SamlInputError("base64", "base64 decoding", { cause });
  }
  if (btoa(bin) !== s) throw new SamlInputError("base64", "non-canonical base64");
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Raw DEFLATE (RFC 1951) decompression for the HTTP-Redirect binding with a running output cap
 * (§7.2): decompression stops as soon as more than `maxBytes` were produced, so a deflate bomb
 * costs at most `maxBytes` of memory. Overflow, corrupt data and empty output are refusals.
 * Uses the Web `DecompressionStream`, available on Node, Bun and Deno.
 */
export async function inflateRawLimited(
  bytes: Uint8Array,
  maxBytes: number = SAML_MAX_MESSAGE_BYTES,
): Promise<Uint8Array> {
  const stream = new DecompressionStream("deflate-raw");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  // Write and close without awaiting: the readable side must be drained concurrently or a large
  // input would block on back-pressure. Their rejections surface through `read()` below.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new SamlInputError("size", "inflated message too large");
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof SamlInputError) throw cause;
    throw new SamlInputError("inflate", "raw inflate failed", { cause });
  }
  if (total === 0) throw new SamlInputError("inflate", "empty inflated message");
  return concatBytes(chunks, total);
}

// ---------------------------------------------------------------------------------------------
// Encoding and markup pre-scan (§7.2)

const XML_DECL = /^<\?xml[\t\n\r ][^>]*?\?>/;
const DECL_ENCODING = /[\t\n\r ]encoding[\t\n\r ]*=[\t\n\r ]*(["'])([^"']*)\1/;

/**
 * UTF-8 only: an optional UTF-8 BOM is dropped; a UTF-16/UTF-32 BOM, a NUL byte (UTF-16 without a
 * BOM), invalid UTF-8 or an XML declaration naming another encoding is refused.
 */
export function decodeXmlBytes(bytes: Uint8Array, maxBytes: number = SAML_MAX_MESSAGE_BYTES): string {
  if (bytes.byteLength > maxBytes) throw new SamlInputError("size", "message too large");
  const b0 = bytes[0];
  const b1 = bytes[1];
  if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0xff && b1 === 0xfe)) {
    throw new SamlInputError("encoding", "UTF-16 byte order mark");
  }
  if (bytes.includes(0)) throw new SamlInputError("encoding", "NUL byte (not UTF-8)");
  let view = bytes;
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) view = bytes.subarray(3);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(view);
  } catch (cause) {
    throw new SamlInputError("encoding", "invalid UTF-8", { cause });
  }
  const decl = XML_DECL.exec(text);
  if (decl) {
    const encoding = DECL_ENCODING.exec(decl[0])?.[2];
    if (encoding !== undefined && encoding.toLowerCase() !== "utf-8") {
      throw new SamlInputError("encoding", "declared encoding is not UTF-8");
    }
  }
  return text;
}

const FORBIDDEN_MARKUP = /<!(DOCTYPE|ENTITY|ATTLIST|ELEMENT|NOTATION)/i;

/** DTD markup (`<!DOCTYPE`, `<!ENTITY` and the other declarations) anywhere in `text`. */
export function hasDtdMarkup(text: string): boolean {
  return FORBIDDEN_MARKUP.test(text);
}

/**
 * Refuses `<!DOCTYPE`, `<!ENTITY` (and the other DTD declarations) anywhere, and every `<?` other
 * than an XML declaration at the very start. Deliberately blunt: it also refuses such text inside
 * comments or CDATA sections, which no genuine SAML message needs.
 */
export function prescanMarkup(text: string): void {
  if (hasDtdMarkup(text)) throw new SamlInputError("markup", "DTD markup");
  let from = 0;
  const decl = XML_DECL.exec(text);
  if (decl) from = decl[0].length;
  if (text.indexOf("<?", from) !== -1) throw new SamlInputError("markup", "processing instruction");
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** A parsed message: the exact text that was parsed (what signatures are checked against) and its DOM. */
export interface ParsedXml {
  text: string;
  doc: Document;
  /** The message's root element (the document element, or the only child of a namespace wrapper). */
  root: Element;
}

export interface ParseOptions {
  /**
   * §7.9 step 5: parse the text inside a synthetic wrapper element carrying exactly these
   * namespace declarations (prefix → URI; `""` is the default namespace). Used for decrypted
   * plaintext that relies on prefixes declared on ancestors of `EncryptedAssertion`.
   */
  wrapperNamespaces?: Readonly<Record<string, string>>;
}

const WRAPPER = "tikti-plaintext-wrapper";
/**
 * Element nesting limit. Genuine SAML messages nest about 10 deep; the limit keeps every later
 * tree walk (ours and xml-crypto's recursive canonicalisation) far from the call-stack limit.
 */
export const MAX_DEPTH = 64;
// XML 1.0 `Char`: C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF never appear in a
// well-formed document, including through character references (xmldom lets `&#0;` through).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NON_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const COMMENT_OR_CDATA = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g;
const BARE_AMPERSAND = /&(?!(?:[A-Za-z_:][\w.:-]*|#[0-9]+|#x[0-9A-Fa-f]+);)/;

/**
 * XML 1.0 §2.4: outside comments and CDATA sections, `&` only ever starts a reference and `]]>`
 * never appears. xmldom lets both through in text (`a & b`), so they are refused here: a document
 * that another XML processor would reject must not be read by us at all. (`<` in text or attribute
 * values, the other §2.4 rule, is already a parser error; a `<!--` can only start a comment.)
 */
function checkCharacterData(text: string): void {
  const outside = text.replace(COMMENT_OR_CDATA, "");
  if (BARE_AMPERSAND.test(outside)) throw new SamlInputError("parse", "'&' that starts no reference");
  if (outside.includes("]]>")) throw new SamlInputError("parse", "']]>' outside a CDATA section");
}

/** XML 1.0 §2.11 line-end handling only (xmldom's default also folds the XML 1.1 characters). */
function normalizeXml10LineEnds(source: string): string {
  return source.replace(/\r\n?/g, "\n");
}

function strictParser(): DOMParser {
  return new DOMParser({
    locator: false,
    normalizeLineEndings: normalizeXml10LineEnds,
    onError: (level: string, message: string) => {
      throw new SamlInputError("parse", `${level}: ${message}`);
    },
  });
}

/**
 * Parses text that already passed `decodeXmlBytes` and `prescanMarkup`. Any parser warning or
 * error is fatal; the tree must then hold no DOCTYPE, no entity reference, no processing
 * instruction other than the XML declaration, and no character outside XML 1.0 `Char`.
 */
export function parseXmlText(text: string, options: ParseOptions = {}): ParsedXml {
  if (NON_XML_CHAR.test(text)) throw new SamlInputError("parse", "character outside XML 1.0 Char");
  checkCharacterData(text);
  let source = text;
  const wrap = options.wrapperNamespaces;
  if (wrap) {
    const decls = Object.entries(wrap)
      .map(([prefix, uri]) => ` ${prefix === "" ? "xmlns" : `xmlns:${prefix}`}="${escapeAttr(uri)}"`)
      .join("");
    source = `<${WRAPPER}${decls}>${text}</${WRAPPER}>`;
  }
  let doc: Document;
  try {
    doc = strictParser().parseFromString(source, "application/xml");
  } catch (cause) {
    if (cause instanceof SamlInputError) throw cause;
    const why = cause instanceof Error ? cause.message.slice(0, 160) : "unknown";
    throw new SamlInputError("parse", `XML parse failed: ${why}`, { cause });
  }
  const top = doc.documentElement;
  if (!top) throw new SamlInputError("parse", "no root element");
  checkTree(doc);
  let root: Element = top;
  if (wrap) {
    const kids = Array.from(top.childNodes);
    const elements = kids.filter((n) => n.nodeType === ELEMENT);
    const other = kids.filter((n) => n.nodeType !== ELEMENT && !isWhitespaceText(n));
    if (elements.length !== 1 || other.length > 0) {
      throw new SamlInputError("parse", "wrapped plaintext is not exactly one element");
    }
    root = elements[0] as Element;
  }
  return { text: source, doc, root };
}

/** Decode, pre-scan and parse inbound bytes: §6.3 P2–P3 in one call. */
export function parseSamlXml(bytes: Uint8Array, options: ParseOptions = {}): ParsedXml {
  const text = decodeXmlBytes(bytes);
  prescanMarkup(text);
  if (options.wrapperNamespaces && XML_DECL.test(text)) {
    // A standalone document with its own declaration cannot be wrapped; it must be self-contained.
    return parseXmlText(text);
  }
  return parseXmlText(text, options);
}

function checkTree(doc: Document): void {
  const top = Array.from(doc.childNodes);
  top.forEach((node, i) => {
    // The XML declaration, which xmldom represents as a leading `xml` processing instruction.
    if (i === 0 && node.nodeType === PI && node.nodeName === "xml") return;
    if (node.nodeType === TEXT && isWhitespaceText(node)) return;
    if (node.nodeType !== ELEMENT && node.nodeType !== COMMENT) {
      throw new SamlInputError("markup", `unexpected node type ${node.nodeType} at document level`);
    }
  });
  const stack: Array<[Node, number]> = top.filter((n) => n.nodeType !== PI).map((n) => [n, 1]);
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    switch (node.nodeType) {
      case ELEMENT: {
        if (depth > MAX_DEPTH) throw new SamlInputError("parse", "elements nested too deeply");
        const el = node as Element;
        for (const a of Array.from(el.attributes)) {
          if (NON_XML_CHAR.test(a.value)) throw new SamlInputError("parse", "attribute character");
        }
        for (const c of Array.from(el.childNodes)) stack.push([c, depth + 1]);
        break;
      }
      case TEXT:
      case CDATA:
      case COMMENT:
        if (NON_XML_CHAR.test(node.nodeValue ?? "")) throw new SamlInputError("parse", "text character");
        break;
      default:
        // DocumentType, EntityReference, processing instructions and anything unexpected.
        throw new SamlInputError("markup", `unexpected node type ${node.nodeType}`);
    }
  }
}

function escapeAttr(v: string): string {
  return v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------------------------------------
// DOM helpers: match by namespace URI and local name, never by prefix (§7.1).

export const ELEMENT = 1;
export const TEXT = 3;
export const CDATA = 4;
export const PI = 7;
export const COMMENT = 8;

export function isElement(node: Node | null | undefined): node is Element {
  return node != null && node.nodeType === ELEMENT;
}

export function isNamed(node: Node | null | undefined, ns: string, localName: string): node is Element {
  return isElement(node) && node.namespaceURI === ns && node.localName === localName;
}

export function elementChildren(parent: Node): Element[] {
  return Array.from(parent.childNodes).filter(isElement);
}

export function childrenNamed(parent: Node, ns: string, localName: string): Element[] {
  return Array.from(parent.childNodes).filter((n): n is Element => isNamed(n, ns, localName));
}

/** Every element below `root` (root excluded) in document order. */
export function descendants(root: Node): Element[] {
  const out: Element[] = [];
  const stack: Node[] = Array.from(root.childNodes).reverse();
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (!isElement(n)) continue;
    out.push(n);
    const kids = n.childNodes;
    for (let i = kids.length - 1; i >= 0; i--) {
      const kid = kids.item(i);
      if (kid !== null) stack.push(kid); // i is inside the list: never null
    }
  }
  return out;
}

export function descendantsNamed(root: Node, ns: string, localName: string): Element[] {
  return descendants(root).filter((e) => e.namespaceURI === ns && e.localName === localName);
}

function isWhitespaceText(n: Node): boolean {
  return n.nodeType === TEXT && /^[\t\n\r ]*$/.test(n.nodeValue ?? "");
}

/** §7.3 rule 6: an element read as text holds only text (and CDATA) — no comment, element or PI. */
export function isTextOnly(el: Element): boolean {
  return Array.from(el.childNodes).every((n) => n.nodeType === TEXT || n.nodeType === CDATA);
}

/** The text of an element, always through `textContent` (§7.7), never `firstChild`/`nodeValue`. */
export function textOf(el: Element): string {
  return el.textContent ?? "";
}

/** An unqualified attribute, or `null` when absent (an empty value is `""`). */
export function attrOf(el: Element, name: string): string | null {
  return el.hasAttributeNS(null, name) ? el.getAttributeNS(null, name) : null;
}

/** The namespace declarations in scope on `el` (prefix → URI; `""` for the default namespace). */
export function inScopeNamespaces(el: Element): Record<string, string> {
  const out: Record<string, string> = {};
  const chain: Element[] = [];
  for (let n: Node | null = el; isElement(n); n = n.parentNode) chain.unshift(n);
  for (const e of chain) {
    for (const a of Array.from(e.attributes)) {
      if (a.namespaceURI !== NS.xmlns) continue;
      const prefix = a.prefix === "xmlns" ? (a.localName ?? "") : "";
      if (prefix === "xml") continue;
      if (a.value === "") delete out[prefix];
      else out[prefix] = a.value;
    }
  }
  return out;
}
