/**
 * Request intake of the OAuth routes (docs/spec/oauth.md, RFC 6749 §3.2): an
 * `application/x-www-form-urlencoded` body of at most 16 KiB, UTF-8, every parameter at most once.
 * Media type is checked before size, size while streaming (the rest of an oversized body is never
 * buffered), then the parameters — the order stated at the top of docs/spec/oauth.md.
 */
import type { Context } from "hono";
import { readRequestBodyLimited, StreamTooLarge } from "../bytes.ts";
import { OAuthError } from "../services/oauth/errors.ts";

/** docs/spec/oauth.md: bodies over 16 KiB → 413 (RFC shape, `invalid_request`). */
export const OAUTH_BODY_LIMIT = 16_384;

export type OAuthParams = ReadonlyMap<string, string>;

function invalidRequest(description: string): OAuthError {
  return new OAuthError("invalid_request", description);
}

function tooLarge(): OAuthError {
  return new OAuthError("invalid_request", "request body too large", { status: 413 });
}

/** `application/x-www-form-urlencoded` with optional parameters (`; charset=UTF-8`), case-insensitive. */
export function isFormMediaType(value: string): boolean {
  return value.split(";", 1)[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/**
 * Reads the form. Parameters sent without a value are treated as omitted (RFC 6749 §3.1) — except
 * those named in `keepEmpty`, whose empty value is kept (`token` of introspection and revocation:
 * present but empty is a malformed token, not a missing one; docs/spec/oauth.md §5, §7); a name sent
 * twice — even once empty — is `invalid_request`, so two components can never read two different
 * values of one parameter.
 */
export async function readOAuthForm(
  c: Context,
  limit = OAUTH_BODY_LIMIT,
  keepEmpty: readonly string[] = [],
): Promise<OAuthParams> {
  const contentType = c.req.header("content-type");
  if (contentType === undefined || !isFormMediaType(contentType)) {
    throw invalidRequest("the body must be application/x-www-form-urlencoded");
  }
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  let bytes: Uint8Array;
  try {
    bytes = await readRequestBodyLimited(c.req.raw, limit);
  } catch (e) {
    if (e instanceof StreamTooLarge) throw tooLarge();
    throw e;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidRequest("the body is not valid UTF-8");
  }
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (seen.has(name)) throw invalidRequest(`parameter ${safeName(name)} sent more than once`);
    seen.add(name);
    if (value !== "" || keepEmpty.includes(name)) params.set(name, value);
  }
  return params;
}

/** A parameter name echoed in a description: only plain names, never arbitrary input. */
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : "(unnamed)";
}

/** The value of a required parameter, else `invalid_request`. */
export function requiredParam(params: OAuthParams, name: string): string {
  const v = params.get(name);
  if (v === undefined) throw invalidRequest(`missing parameter ${name}`);
  return v;
}
