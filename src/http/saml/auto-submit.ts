/**
 * The auto-submit pages of the SAML browser flows: the outbound HTTP-POST binding form
 * (docs/spec/saml.md §9.2 step 7, §9.3 step 6) and the ACS's same-site repost page (§6.2). Each page's
 * script carries a per-response nonce that its CSP allows.
 */
import { newNonce } from "../../saml/ids.ts";
import { autoSubmitCsp, BROWSER_HEADERS, escapeHtml, HTML_CONTENT_TYPE } from "./pages.ts";

/**
 * §9.2 step 7 / §9.3 step 6, POST binding: a `200` page whose form posts `fields` to `action`,
 * submitted by a nonce-carrying script (with a `<noscript>` button). CSP: `autoSubmitCsp` (no
 * `form-action`, docs/spec/saml.md §10.1).
 */
export function autoSubmitForm(input: {
  action: string;
  fields: Record<string, string>;
  extraHeaders?: Record<string, string>;
}): Response {
  const nonce = newNonce();
  const hidden = Object.entries(input.fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
  const body =
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head><body>' +
    `<form id="tikti-saml-post" method="post" action="${escapeHtml(input.action)}">${hidden}` +
    '<noscript><button type="submit">Continue</button></noscript></form>' +
    `<script nonce="${nonce}">document.getElementById("tikti-saml-post").submit();</script>` +
    "</body></html>\n";
  return new Response(body, {
    status: 200,
    headers: {
      ...BROWSER_HEADERS,
      ...input.extraHeaders,
      "Content-Type": HTML_CONTENT_TYPE,
      "Content-Security-Policy": autoSubmitCsp(nonce),
    },
  });
}

/**
 * §6.2: the same-site repost page for a browser that withheld the state cookie on the IdP's
 * cross-site POST. Its form posts the message back to `action` with `_tikti_state_retry=1`.
 */
export function repostPage(input: {
  action: string;
  samlResponse: string;
  relayState: string | null;
}): Response {
  const nonce = newNonce();
  const relay =
    input.relayState === null
      ? ""
      : `<input type="hidden" name="RelayState" value="${escapeHtml(input.relayState)}">`;
  const body =
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head><body>' +
    `<form id="tikti-saml-repost" method="post" action="${escapeHtml(input.action)}">` +
    `<input type="hidden" name="SAMLResponse" value="${escapeHtml(input.samlResponse)}">${relay}` +
    '<input type="hidden" name="_tikti_state_retry" value="1">' +
    '<noscript><p>Continue to finish signing in.</p><button type="submit">Continue</button></noscript></form>' +
    `<script nonce="${nonce}">document.getElementById("tikti-saml-repost").submit();</script>` +
    "</body></html>\n";
  return new Response(body, {
    status: 200,
    headers: {
      ...BROWSER_HEADERS,
      "Content-Type": HTML_CONTENT_TYPE,
      "Content-Security-Policy": autoSubmitCsp(nonce),
    },
  });
}
