/**
 * Driving SAML browser flows without a browser: a cookie jar, Tikti called in-process at its public
 * URLs (https://id.test.example/...), the pysaml2 IdP over real loopback HTTP, the IdP's auto-submit
 * form read back into fields, and DOM mutations of the IdP's live output for attack responses.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import { decodeJwt } from "jose";
import { TEST_ISSUER, type TestApp } from "../../support/app.ts";
import type { IdpKnobs, PostedResponse, PysamlIdp } from "./pysaml-idp.ts";

export const STATE_COOKIE = "__Host-tikti_saml_state";
export const SLO_COOKIE = "__Host-tikti_saml_slo";
export const ID_COOKIE = "tikti_idt";
export const NS = {
  samlp: "urn:oasis:names:tc:SAML:2.0:protocol",
  saml: "urn:oasis:names:tc:SAML:2.0:assertion",
  ds: "http://www.w3.org/2000/09/xmldsig#",
  xenc: "http://www.w3.org/2001/04/xmlenc#",
} as const;

// ------------------------------------------------------------------------------------ cookies

export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string>;
}

export function parseSetCookies(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map((line) => {
    const [pair, ...attrs] = line.split(";").map((s) => s.trim());
    const eq = pair!.indexOf("=");
    const attributes: Record<string, string> = {};
    for (const a of attrs) {
      const i = a.indexOf("=");
      attributes[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? "" : a.slice(i + 1);
    }
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
  });
}

/** One browser's cookies for Tikti's host (names only: every Tikti cookie is host-wide, Path=/). */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  absorb(res: Response): SetCookie[] {
    const set = parseSetCookies(res);
    for (const c of set) {
      if (c.attributes["max-age"] === "0" || c.value === "") this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return set;
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

// ------------------------------------------------------------------------------------ Tikti

/** A request to the in-process Tikti at its public URL, with the jar's cookies; absorbs Set-Cookie. */
export async function tikti(
  t: TestApp,
  jar: CookieJar | null,
  url: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (jar && jar.cookies.size > 0 && !headers.has("cookie")) headers.set("cookie", jar.header());
  const absolute = url.startsWith("/") ? TEST_ISSUER + url : url;
  const res = await t.app.fetch(new Request(absolute, { ...init, headers, redirect: "manual" }), {
    remoteAddr: "192.0.2.10",
  });
  jar?.absorb(res);
  return res;
}

/** `application/x-www-form-urlencoded` POST of `fields` (in order) to a Tikti URL. */
export function postForm(
  t: TestApp,
  jar: CookieJar | null,
  url: string,
  fields: Array<[string, string]>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = new URLSearchParams(fields).toString();
  return tikti(t, jar, url, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
}

// ------------------------------------------------------------------------------------ IdP

/** Follows a redirect to the IdP's SSO URL as a browser would, with the IdP knobs as a header. */
export async function idpSso(
  location: string,
  knobs: IdpKnobs = {},
  mode: "form" | "json" = "json",
): Promise<PostedResponse> {
  const res = await fetch(location, {
    redirect: "manual",
    headers: {
      ...(mode === "json" ? { accept: "application/json" } : { accept: "text/html" }),
      "x-idp-options": JSON.stringify(knobs),
    },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`IdP SSO answered ${res.status}: ${text}`);
  if (mode === "json") return JSON.parse(text) as PostedResponse;
  const form = parseAutoPostForm(text);
  return {
    binding: "HTTP-POST",
    url: form.action,
    SAMLResponse: form.fields.SAMLResponse ?? "",
    RelayState: form.fields.RelayState ?? "",
  };
}

/**
 * The IdP's optional login step (knob `loginForm`): GET the SSO URL, fill in the form it answers,
 * POST it; the answer is the auto-submit form with the Response. Returns the HTTP status of the
 * login POST too (401 and the form again on wrong credentials).
 */
export async function idpSsoWithLogin(
  location: string,
  credentials: { username: string; password: string },
  knobs: IdpKnobs = {},
): Promise<{ status: number; posted: PostedResponse | null; html: string }> {
  const page = await fetch(location, {
    headers: { accept: "text/html", "x-idp-options": JSON.stringify({ ...knobs, loginForm: true }) },
  });
  const formHtml = await page.text();
  if (page.status !== 200) throw new Error(`IdP SSO answered ${page.status}: ${formHtml}`);
  const login = parseAutoPostForm(formHtml);
  const res = await fetch(new URL(login.action, location), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
    body: new URLSearchParams({ key: login.fields.key ?? "", ...credentials }).toString(),
  });
  const html = await res.text();
  if (res.status !== 200) return { status: res.status, posted: null, html };
  const form = parseAutoPostForm(html);
  return {
    status: res.status,
    html,
    posted: {
      binding: "HTTP-POST",
      url: form.action,
      SAMLResponse: form.fields.SAMLResponse ?? "",
      RelayState: form.fields.RelayState ?? "",
    },
  };
}

const decodeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** The action and hidden fields of an auto-submit HTML form (the IdP's or Tikti's repost page). */
export function parseAutoPostForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form\b[^>]*\baction="([^"]*)"/i.exec(html);
  if (!form) throw new Error(`no form in:\n${html}`);
  const fields: Record<string, string> = {};
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const tag = input[0];
    const name = /\bname="([^"]*)"/i.exec(tag)?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(tag)?.[1];
    if (name !== undefined && value !== undefined) fields[decodeHtml(name)] = decodeHtml(value);
  }
  return { action: decodeHtml(form[1]!), fields };
}

// ------------------------------------------------------------------------------------ login flow

export interface LoginStart {
  jar: CookieJar;
  /** The outstanding request id (the state cookie value). */
  requestId: string;
  /** Tikti's 302 Location (the IdP SSO URL with the signed query). */
  location: string;
  response: Response;
}

/** GET /saml/login/:tid in a fresh (or given) browser. */
export async function startLogin(
  t: TestApp,
  tid: string,
  options: { relayState?: string; jar?: CookieJar } = {},
): Promise<LoginStart> {
  const jar = options.jar ?? new CookieJar();
  const query =
    options.relayState === undefined ? "" : `?RelayState=${encodeURIComponent(options.relayState)}`;
  const response = await tikti(t, jar, `/saml/login/${tid}${query}`);
  if (response.status !== 302) {
    throw new Error(`GET /saml/login/${tid} answered ${response.status}: ${await response.text()}`);
  }
  const location = response.headers.get("location") ?? "";
  return { jar, requestId: jar.get(STATE_COOKIE) ?? "", location, response };
}

/** Posts an IdP answer to Tikti's ACS (the URL the IdP named) as the browser's form submission. */
export function postToAcs(
  t: TestApp,
  jar: CookieJar | null,
  posted: Pick<PostedResponse, "url" | "SAMLResponse" | "RelayState">,
  extra: Array<[string, string]> = [],
): Promise<Response> {
  const fields: Array<[string, string]> = [["SAMLResponse", posted.SAMLResponse]];
  if (posted.RelayState !== "") fields.push(["RelayState", posted.RelayState]);
  return postForm(t, jar, posted.url, [...fields, ...extra]);
}

export interface LoginResult {
  start: LoginStart;
  posted: PostedResponse;
  acs: Response;
  idToken: string | undefined;
}

/** The whole SP-initiated login: Tikti → IdP (knobs) → auto-POST form → Tikti's ACS. */
export async function login(
  t: TestApp,
  idp: PysamlIdp,
  tid: string,
  options: { knobs?: IdpKnobs; relayState?: string; mode?: "form" | "json"; jar?: CookieJar } = {},
): Promise<LoginResult> {
  const start = await startLogin(t, tid, {
    ...(options.relayState !== undefined ? { relayState: options.relayState } : {}),
    ...(options.jar ? { jar: options.jar } : {}),
  });
  if (!start.location.startsWith(idp.ssoUrl)) throw new Error(`login redirected to ${start.location}`);
  const posted = await idpSso(start.location, options.knobs, options.mode ?? "json");
  const acs = await postToAcs(t, start.jar, posted);
  return { start, posted, acs, idToken: start.jar.get(ID_COOKIE) };
}

export function claims(idToken: string): Record<string, unknown> {
  return decodeJwt(idToken) as Record<string, unknown>;
}

// ------------------------------------------------------------------------------------ audit

export interface AssertionAudit {
  event: "saml.assertion";
  decision: "accept" | "reject";
  reason: string;
  detail?: string;
  tid: string;
  userId?: string;
  jit?: string;
}

/** The `saml.assertion` audit records written so far. */
export function assertionAudits(t: TestApp): AssertionAudit[] {
  return t.auditLines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((a) => a.event === "saml.assertion") as unknown as AssertionAudit[];
}

// ------------------------------------------------------------------------------------ XML

export const b64 = {
  decode: (s: string) => Buffer.from(s, "base64").toString("utf8"),
  encode: (s: string) => Buffer.from(s, "utf8").toString("base64"),
};

export function parseXml(xml: string): Document {
  return new DOMParser().parseFromString(xml, "text/xml") as unknown as Document;
}

export function serializeXml(doc: Document | Node): string {
  return new XMLSerializer().serializeToString(doc as never);
}

/** Elements by namespace URI and local name, in document order. */
export function elements(root: Document | Element, ns: string, local: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, local) as unknown as ArrayLike<Element>);
}

export function one(root: Document | Element, ns: string, local: string): Element {
  const found = elements(root, ns, local);
  if (found.length !== 1) throw new Error(`expected one ${local}, found ${found.length}`);
  return found[0]!;
}

/** Raw-deflate + base64 + percent-encoding of a Redirect-binding message value. */
export function redirectEncode(xml: string): string {
  return encodeURIComponent(deflateRawSync(Buffer.from(xml, "utf8")).toString("base64"));
}

/** The decoded XML of a Redirect-binding parameter (`SAMLRequest`/`SAMLResponse`) of a URL. */
export function redirectDecode(url: string, param: "SAMLRequest" | "SAMLResponse"): string {
  const value = new URL(url).searchParams.get(param);
  if (value === null) throw new Error(`${param} missing in ${url}`);
  return inflateRawSync(Buffer.from(value, "base64")).toString("utf8");
}

/** Applies `mutate` to the decoded Response and re-encodes it (no re-signing). */
export function tamper(samlResponse: string, mutate: (doc: Document) => void): string {
  const doc = parseXml(b64.decode(samlResponse));
  mutate(doc);
  return b64.encode(serializeXml(doc));
}
