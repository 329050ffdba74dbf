/** JSON responses with the media type of docs/spec/api.md §2.5 (`application/json; charset=utf-8`). */
import type { Context } from "hono";
import type { HonoEnv, ResponseHeaders } from "../deps.ts";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

const encoder = new TextEncoder();

/**
 * `route`'s headers with the request's own (`answer`) laid over them, names compared without case as
 * HTTP does: the request's value wins, as when middleware set it after the route; `Vary` is appended to.
 */
function withAnswerHeaders(route: ResponseHeaders, answer: ResponseHeaders): ResponseHeaders {
  const out: ResponseHeaders = { ...route };
  for (const own in answer) {
    const value = answer[own] as string;
    const lower = own.toLowerCase();
    let existing: string | undefined;
    for (const name in out) {
      if (name.length === own.length && name.toLowerCase() === lower) {
        existing = name;
        break;
      }
    }
    if (existing === undefined) out[own] = value;
    else if (lower === "vary") out[existing] = `${out[existing]}, ${value}`;
    else {
      if (existing !== own) delete out[existing];
      out[own] = value;
    }
  }
  return out;
}

/**
 * A text body sent as bytes with its `Content-Length` stated. The Response is built here with a
 * plain header object that already holds the request's answer headers (`AnswerHeaders`, src/deps.ts): the Node adapter
 * (@hono/node-server) writes such a Response without converting its headers, where a Response whose
 * headers are changed afterwards becomes a `Headers` object copied once more into Node's format
 * (issue 14: these copies and the re-buffering of bodies were among the largest per-request costs in
 * the JWKS and lookup profiles). The front middleware reads the length from `AnswerHeaders` (access
 * log `bytesOut`, HEAD's Content-Length) instead of buffering the body again.
 */
export function sizedBody(c: Context, text: string, status: number, headers: ResponseHeaders): Response {
  const bytes = encoder.encode(text);
  const length = String(bytes.byteLength);
  const answer = (c as Context<HonoEnv>).get("answer");
  if (answer === undefined) {
    // Outside the app's front middleware (a sub-app in a test): Hono's own helper.
    return c.body(bytes, status as 200, { ...headers, "Content-Length": length });
  }
  const res = new Response(bytes, {
    status,
    headers: withAnswerHeaders({ ...headers, "Content-Length": length }, answer.headers),
  });
  answer.res = res;
  answer.bytes = bytes.byteLength;
  return res;
}

export function json(c: Context, body: unknown, status = 200, headers?: ResponseHeaders): Response {
  return sizedBody(c, JSON.stringify(body), status, { ...headers, "Content-Type": JSON_CONTENT_TYPE });
}
