/**
 * Neutral HTML pages of the SAML browser routes (docs/spec/saml.md §6.7, §10): the error pages shared by
 * login, ACS, logout and discovery, and the discovery form. Bodies never contain the reason, the
 * tenant, the NameID, the email or any part of a message; each error page carries a random error id
 * (also logged with the reason) so support can correlate a screenshot with the logs.
 */

export type SamlErrorPageKind =
  | "bad_request"
  | "forbidden"
  | "not_configured"
  | "internal"
  | "too_many"
  | "too_large";

const PAGES: Record<SamlErrorPageKind, { status: number; heading: string; text: string }> = {
  bad_request: {
    status: 400,
    heading: "Bad Request",
    text: "Login link is not valid. Start again from the beginning.",
  },
  forbidden: {
    status: 403,
    heading: "Access Denied",
    text: "Login could not be verified. Contact your administrator.",
  },
  not_configured: {
    status: 404,
    heading: "Not Found",
    text: "Single sign-on is not configured for this workspace.",
  },
  internal: {
    status: 500,
    heading: "Temporarily Unavailable",
    text: "We could not complete your login. Try again in a few seconds.",
  },
  too_many: {
    status: 429,
    heading: "Too Many Attempts",
    text: "Too many attempts. Wait a minute and try again.",
  },
  too_large: { status: 413, heading: "Request Too Large", text: "The login response was too large." },
};

/** Headers of every SAML browser answer (docs/spec/saml.md §5, §6.7, §10). */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-store",
  Pragma: "no-cache",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
};

/** Error pages have no form: `form-action 'none'`. */
export const ERROR_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/**
 * No `form-action` (docs/spec/saml.md §10.1): browsers apply it to every redirect after the submission, and
 * the discovery form's POST is followed by `302 /saml/login/<tid>` and `302 <IdP>`, which
 * `form-action 'self'` blocked. The page has no user-controlled markup (the email is never
 * reflected); `default-src 'none'` and `base-uri 'none'` keep it inert.
 */
export const DISCOVERY_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

/**
 * CSP of the auto-submit pages (outbound POST binding, the ACS repost page): only the script with
 * this response's nonce runs. No `form-action` (docs/spec/saml.md §10.1): it would also govern the redirects
 * after the submission — the IdP's redirect back to `/saml/slo`, or the ACS's redirect to an allowed
 * external return target — and block them.
 */
export function autoSubmitCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`;
}

export const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );
}

const STYLE =
  "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}" +
  "h1{font-size:1.4rem}small{color:#666}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}" +
  "button{margin-top:.8rem;font-size:1rem;padding:.4rem 1rem}";

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}

/** 12 lowercase hex characters. */
export function newErrorId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

export interface ErrorPageOptions {
  /** For `internal`: the store was unreachable → 503 with `Retry-After: 5`. */
  storeUnavailable?: boolean;
  /** Seconds, for `too_many`. */
  retryAfter?: number;
  /** Error id to show (default: a new one). */
  errorId?: string;
  /** Extra headers (e.g. `Set-Cookie` expiring a state cookie). */
  headers?: Record<string, string>;
}

/** The neutral error page of a bucket; `errorId` is in the `X-Tikti-Error-ID` header and the body. */
export function samlErrorPage(kind: SamlErrorPageKind, options: ErrorPageOptions = {}): Response {
  const p = PAGES[kind];
  const errorId = options.errorId ?? newErrorId();
  const status = kind === "internal" && options.storeUnavailable ? 503 : p.status;
  const headers: Record<string, string> = {
    ...BROWSER_HEADERS,
    ...options.headers,
    "Content-Type": HTML_CONTENT_TYPE,
    "Content-Security-Policy": ERROR_PAGE_CSP,
    "X-Tikti-Error-ID": errorId,
  };
  if (status === 503) headers["Retry-After"] = "5";
  if (kind === "too_many" && options.retryAfter !== undefined)
    headers["Retry-After"] = String(options.retryAfter);
  const body = page(
    p.heading,
    `<h1>${p.heading}</h1><p>${p.text}</p><p><small>Error ID: ${errorId}</small></p>`,
  );
  return new Response(body, { status, headers });
}

/** The discovery form (docs/spec/saml.md §10); `message` is a fixed text, never user input. */
export function discoveryPage(message?: "Enter a valid email address." | "Workspace not found."): Response {
  const note = message ? `<p role="alert">${message}</p>` : "";
  const body = page(
    "Discover your workspace",
    `<h1>Discover your workspace</h1>${note}<form method="post" action="/saml/discover">` +
      `<label for="email">Work email</label><input id="email" name="email" type="email" autocomplete="email" required>` +
      `<button type="submit">Continue</button></form>`,
  );
  return new Response(body, {
    status: 200,
    headers: {
      ...BROWSER_HEADERS,
      "Content-Type": HTML_CONTENT_TYPE,
      "Content-Security-Policy": DISCOVERY_CSP,
    },
  });
}
