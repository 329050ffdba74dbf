/**
 * Random identifiers of the SAML flows: message and request ids (`_` + 40 lowercase hex, 160 bits;
 * docs/spec/saml.md §5 step 4, §9.2 step 6, §9.3 step 6), session ids (32 lowercase hex, 128 bits; §6.5)
 * and nonces.
 */

import { randomHex, sha256Hex, toBase64 } from "../bytes.ts";

// The id grammars are part of the keyspace (`saml:req:{id}`, `saml:sid:{sid}`): the repositories own them.
export { MESSAGE_ID_PATTERN } from "../store/repos/saml-requests.ts";
export { SESSION_ID_PATTERN } from "../store/repos/saml-sessions.ts";

/** `_` + 40 lowercase hex characters. */
export function newMessageId(): string {
  return `_${randomHex(20)}`;
}

/** A SAML session id: 32 lowercase hex characters. */
export function newSessionId(): string {
  return randomHex(16);
}

/** A CSP script nonce (base64 of 16 random bytes). */
export function newNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(16)));
}

/** `YYYY-MM-DDTHH:MM:SSZ` (UTC, second precision), as SAML `IssueInstant` values. */
export function samlInstant(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** `sha256:` + lowercase hex of SHA-256 over the UTF-8 bytes. */
export async function sha256Tagged(text: string): Promise<string> {
  return `sha256:${await sha256Hex(text)}`;
}
